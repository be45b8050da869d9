"""Hyper-parameter trials: drawn from the design's ranges, and judged without ever reading the test rows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from models_bars import market

from papertrader.features.spec import PipelineSpec
from papertrader.models.data import LabelSpec
from papertrader.models.scaleout import run_local
from papertrader.models.sequence import SequenceSpec
from papertrader.models.trainer import TrainConfig
from papertrader.models.tuning import best, run_trial, sample_params
from papertrader.models.validation import WalkForwardConfig, make_folds


def test_sampled_trials_are_distinct_and_inside_the_design_ranges() -> None:
    lstm = sample_params("lstm", 6, seed=1)
    gru = sample_params("gru", 6, seed=1)
    assert len({tuple(sorted(p.items())) for p in lstm}) == 6
    assert all(128 <= p["hidden"] <= 256 and p["layers"] in (2, 3) and 30 <= p["lookback"] <= 60 for p in lstm)
    assert all(64 <= p["hidden"] <= 128 and p["layers"] == 2 and 20 <= p["lookback"] <= 40 for p in gru)


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
