"""Hyper-parameter trials: drawn from the design's ranges, and judged without ever reading the test rows."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from models_bars import market

from papertrader.features.spec import PipelineSpec
from papertrader.models.data import LabelSpec
from papertrader.models.scaleout import run_local
from papertrader.models.sequence import SequenceSpec
from papertrader.models.trainer import TrainConfig
from papertrader.models.tuning import Trial, best, run_trial, search
from papertrader.models.validation import WalkForwardConfig, make_folds


def _scored(params: list[dict[str, Any]]) -> list[Trial]:
    """A stand-in for training (a pure function of the parameters): lower loss at more units and lower lr."""
    return [Trial(p, 1.0 / p["hidden"] + p["lr"], 0.5, 0.0) for p in params]


def test_optuna_trials_stay_inside_the_design_ranges_and_repeat_with_the_seed() -> None:
    lstm = search("lstm", 6, 1, _scored)
    gru = search("gru", 6, 1, _scored, batch=3)
    assert len(lstm) == 6 and len(gru) == 6
    assert all(128 <= t.params["hidden"] <= 256 and t.params["layers"] in (2, 3) for t in lstm)
    assert all(30 <= t.params["lookback"] <= 60 for t in lstm)
    assert all(
        64 <= t.params["hidden"] <= 128 and t.params["layers"] == 2 and 20 <= t.params["lookback"] <= 40 for t in gru
    )
    assert [t.params for t in search("lstm", 6, 1, _scored)] == [t.params for t in lstm], "seeded: same trials"


def test_the_search_asks_in_batches_so_a_batch_can_run_as_parallel_tasks() -> None:
    sizes: list[int] = []

    def evaluate(params: list[dict[str, Any]]) -> list[Trial]:
        sizes.append(len(params))
        return _scored(params)

    search("gru", 7, 3, evaluate, batch=3)
    assert sizes == [3, 3, 1]


def test_trials_never_read_the_test_window() -> None:
    m = market()
    spec = SequenceSpec(
        family="lstm",
        interval="1d",
        lookback=5,
        hidden=4,
        layers=2,
        labels=LabelSpec("direction", horizon=5),
        features=PipelineSpec(),
        train=TrainConfig(epochs=1, batch_size=64, max_batches_per_epoch=2),
    )
    fold = make_folds(len(m), WalkForwardConfig(n_folds=1, test_rows=150, val_rows=60, train_rows=300))[0]
    params = [{"hidden": 4, "layers": 2, "lookback": 5, "lr": lr, "dropout": 0.0} for lr in (1e-3, 1e-2)]
    honest = run_local(run_trial, m, (spec, fold), params)
    labels = m.labels.copy()
    labels[fold.test[0] :] = (labels[fold.test[0] :] + 1) % 3  # scramble everything from the test window on
    scrambled = run_local(run_trial, replace(m, labels=labels), (spec, fold), params)
    for a, b in zip(honest, scrambled, strict=True):
        assert a.val_loss == b.val_loss and a.val_accuracy == b.val_accuracy
    assert best(honest).val_loss == min(t.val_loss for t in honest)
    assert np.isfinite([t.val_loss for t in honest]).all()
