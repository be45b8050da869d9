"""Per-fold features: the scaler learns from the training rows only, whatever comes after them."""

from __future__ import annotations

import numpy as np
from models_bars import daily_bars, market

from papertrader.features.spec import PipelineSpec
from papertrader.models.data import featurize


def test_scaler_and_training_features_ignore_everything_after_the_training_window() -> None:
    bars = daily_bars()
    base = market(bars=bars)
    train = (0, 500)
    cutoff = base.inputs.ts[train[1] - 1]
    shocked = bars.copy()
    after = shocked["ts"] > cutoff
    for col in ("open", "high", "low", "close"):
        shocked.loc[after, col] *= 3.0
    shocked.loc[after, "volume"] *= 10.0
    other = market(bars=shocked)
    fitted_a, tensor_a = featurize(base, PipelineSpec(), train)
    fitted_b, tensor_b = featurize(other, PipelineSpec(), train)
    np.testing.assert_array_equal(fitted_a.scaler.center, fitted_b.scaler.center)
    np.testing.assert_array_equal(fitted_a.scaler.scale, fitted_b.scaler.scale)
    np.testing.assert_array_equal(tensor_a[: train[1]], tensor_b[: train[1]])
    assert not np.array_equal(tensor_a[train[1] + 5 :], tensor_b[train[1] + 5 :])
    assert fitted_a.train_end == cutoff.isoformat()


def test_different_training_windows_give_different_scalers() -> None:
    m = market()
    early, _ = featurize(m, PipelineSpec(), (0, 300))
    late, _ = featurize(m, PipelineSpec(), (300, 700))
    assert not np.allclose(early.scaler.center, late.scaler.center)
