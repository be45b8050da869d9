"""The board search space: every sampled point is valid settings plus model parameters from the family's grid."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from papertrader.config.settings import Settings
from papertrader.core.errors import ConfigError
from papertrader.engine.hyperopt import Setup, sample, settings_for
from papertrader.engine.hyperopt_board import board_space, searched_members, split_params
from papertrader.models.tuning import board_model_space


def _board(home: Path, members: tuple[str, ...]) -> Settings:
    base = Settings(home=home)
    return base.model_copy(update={"board": base.board.model_copy(update={"members": members})})


def test_the_space_has_board_knobs_a_weight_per_member_risk_and_each_models_grid(tmp_path: Path) -> None:
    settings = _board(tmp_path, ("lstm", "ppo", "trend", "grok"))
    names = {p.name for p in board_space(settings, small=True)}
    assert searched_members(settings) == ("lstm", "ppo", "trend"), "an advisor has no weight searched"
    assert {"board.min_edge", "board.conflict_policy", "board.weight.lstm", "board.weight.trend"} <= names
    assert {"risk.vol_target", "model.lstm.hidden", "model.lstm.lr", "model.ppo.learning_rate"} <= names
    assert not any(n.startswith("strategy.") or n.startswith("model.trend") for n in names)


def test_every_sampled_point_is_valid_settings_and_model_values_from_the_grid(tmp_path: Path) -> None:
    settings = _board(tmp_path, ("lstm", "gru", "trend"))
    space = board_space(settings, small=True)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=5))
    for _ in range(30):
        trial = study.ask()
        values = sample(trial, space)
        fields, models = split_params(values)
        tuned = settings_for(settings, fields)
        assert tuned.board.base_weights["lstm"] == values["board.weight.lstm"]
        assert tuned.board.base_weights["ppo"] == settings.board.base_weights["ppo"], "unsearched weights kept"
        assert tuned.board.conflict_policy == values["board.conflict_policy"]
        assert set(models) == {"lstm", "gru"}
        for member, params in models.items():
            grid = board_model_space(member, small=True)
            assert all(params[k] in grid[k] for k in grid) and set(params) == set(grid)
        study.tell(trial, 0.0)


def test_a_board_value_the_settings_reject_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rejected by the settings"):
        settings_for(Settings(home=tmp_path), {"board.min_edge": 2.0})


def test_a_trend_studys_setup_keys_are_unchanged_so_old_studies_resume(tmp_path: Path) -> None:
    trend = Setup(("AAPL",), None, None, 3, 0.2, "trend")
    assert set(trend.to_json()) == {"symbols", "start", "end", "folds", "test_fraction", "strategy"}
    board = Setup(("AAPL",), None, None, 3, 0.2, "ensemble", small=True)
    assert board.to_json()["small"] is True and board.default_name() != trend.default_name()
