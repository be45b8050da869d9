"""The hyperopt search space: every sampled point is valid settings, and the report names what was searched."""

from __future__ import annotations

import optuna
import pytest

from papertrader.config.settings import Settings
from papertrader.core.errors import ConfigError
from papertrader.engine.hyperopt import SPACE, TrialRow, caveat, public_params, sample, settings_for


def test_every_sampled_point_is_valid_settings_with_fast_below_slow(tmp_path: object) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    base = Settings(home=tmp_path)
    for _ in range(50):
        trial = study.ask()
        params = sample(trial)
        settings = settings_for(base, params)
        assert settings.strategy.fast < settings.strategy.slow
        assert settings.strategy.slow == params["strategy.fast"] + params["strategy.slow_gap"]
        assert settings.risk.max_position_fraction == params["risk.max_position_fraction"]
        study.tell(trial, 0.0)
    assert {p.name for p in SPACE} == set(study.trials[0].params)


def test_settings_for_keeps_every_unsearched_setting(tmp_path: object) -> None:
    base = Settings(home=tmp_path)
    tuned = settings_for(base, {"strategy.fast": 10, "strategy.slow_gap": 20, "risk.vol_target": 0.2})
    assert (tuned.strategy.fast, tuned.strategy.slow, tuned.risk.vol_target) == (10, 30, 0.2)
    assert tuned.costs == base.costs
    assert tuned.risk.max_drawdown == base.risk.max_drawdown
    assert tuned.strategy.name == base.strategy.name


def test_settings_for_rejects_out_of_range_values_and_unknown_sections_as_config_errors(tmp_path: object) -> None:
    base = Settings(home=tmp_path)
    with pytest.raises(ConfigError):
        settings_for(base, {"risk.max_position_fraction": 2.0})
    with pytest.raises(ConfigError):
        settings_for(base, {"costs.slippage_bps": 0.0})


def test_public_params_report_slow_not_the_searched_gap() -> None:
    assert public_params({"strategy.fast": 12, "strategy.slow_gap": 30, "risk.vol_target": 0.3}) == {
        "strategy.fast": 12,
        "strategy.slow": 42,
        "risk.vol_target": 0.3,
    }


def test_trial_row_spread_is_the_fold_std_and_min_the_worst_fold() -> None:
    row = TrialRow(0, {}, 0.5, (1.0, 0.0), (1.5, 0.2))
    assert row.worst == 0.0
    assert row.spread == pytest.approx(0.7071067811865476)
    assert TrialRow(1, {}, 0.5, (0.5,), (0.5,)).spread == 0.0


def test_caveat_names_how_many_trials_were_tried() -> None:
    assert "best of 37 trials" in caveat(37)
