"""models.tuning.with_params sets a searched hyper-parameter on any family's spec, and refuses one it lacks."""

from __future__ import annotations

import pytest

from papertrader.config.settings import CostSettings
from papertrader.features.spec import PipelineSpec
from papertrader.models import specs
from papertrader.models.crosstrain import cross_section_spec
from papertrader.models.tuning import BOARD_MODEL_SPACE, with_params


def test_sequence_params_set_the_spec_and_lr_the_trainer() -> None:
    spec = specs.lstm_spec("1d", PipelineSpec(), small=True)
    tuned = with_params(spec, {"hidden": 16, "lookback": 20, "lr": 3e-3})
    assert (tuned.hidden, tuned.lookback, tuned.train.lr) == (16, 20, 3e-3)
    assert tuned.train.epochs == spec.train.epochs and tuned.layers == spec.layers


def test_ppo_and_lightgbm_params_set_their_specs() -> None:
    ppo = with_params(specs.ppo_spec("1d", PipelineSpec(), CostSettings(), small=True), {"learning_rate": 1e-3})
    lgbm = with_params(cross_section_spec("1d", small=True), {"num_leaves": 15, "learning_rate": 0.2})
    assert ppo.learning_rate == 1e-3 and (lgbm.num_leaves, lgbm.learning_rate) == (15, 0.2)


def test_every_grid_value_applies_to_its_familys_spec() -> None:
    made = {
        "lstm": lambda small: specs.lstm_spec("1d", PipelineSpec(), small=small),
        "gru": lambda small: specs.gru_spec("1wk", PipelineSpec(), small=small),
        "ppo": lambda small: specs.ppo_spec("1d", PipelineSpec(), CostSettings(), small=small),
        "lgbm": lambda small: cross_section_spec("1d", small=small),
    }
    for small, families in BOARD_MODEL_SPACE.items():
        for family, grid in families.items():
            with_params(made[family](small), {k: v[0] for k, v in grid.items()})


def test_a_parameter_the_spec_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match="no parameter"):
        with_params(cross_section_spec("1d"), {"lr": 0.1})
