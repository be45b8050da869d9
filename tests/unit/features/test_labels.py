"""Labels: the one forward-looking module, with a FLAT band that can never be narrower than the costs."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from feature_data import inputs

import papertrader.features as features_pkg
from papertrader.core.errors import ConfigError
from papertrader.features.labels import (
    class_index,
    direction_labels,
    forward_returns,
    reversal_labels,
    trend_labels,
)


def test_a_flat_band_narrower_than_the_round_trip_cost_is_refused() -> None:
    close = np.ones((10, 1))
    for fn in (direction_labels, trend_labels, reversal_labels):
        with pytest.raises(ConfigError, match="narrower than the round-trip cost"):
            fn(close, 3, band=0.001, round_trip_cost=0.002)
    direction_labels(close, 3, band=0.002, round_trip_cost=0.002)  # equal is allowed


def test_direction_labels_follow_the_forward_return_on_each_symbols_own_bars(etf_daily: pd.DataFrame) -> None:
    inp = inputs(etf_daily[etf_daily["ts"] < "2002-01-01"], "1d")
    close = inp.prices.close
    labels = direction_labels(close, 5, band=0.01, round_trip_cost=0.002)
    for j in range(close.shape[1]):
        rows = np.flatnonzero(np.isfinite(close[:, j]))
        c = pd.Series(close[rows, j])
        fwd = c.shift(-5) / c - 1
        expected = np.where(fwd > 0.01, 1.0, np.where(fwd < -0.01, -1.0, 0.0))
        expected[fwd.isna().to_numpy()] = np.nan
        np.testing.assert_array_equal(labels[rows, j], expected)
        np.testing.assert_allclose(forward_returns(close, 5)[rows, j], np.log(c.shift(-5) / c), rtol=1e-12)
        assert np.isnan(labels[: rows[0], j]).all()
    assert set(np.unique(class_index(labels))) == {-1, 0, 1, 2}


def test_trend_and_reversal_labels_match_least_squares_slopes(spy_daily: pd.DataFrame) -> None:
    close = spy_daily["close"].to_numpy()[:400, None]
    h, band = 10, 0.02
    trend = trend_labels(close, h, band, 0.001)
    reversal = reversal_labels(close, h, band, 0.001)
    y = np.log(close[:, 0])

    def move(window: np.ndarray) -> float:
        return float(np.polyfit(np.arange(h + 1), window, 1)[0] * h)

    def cls(m: float) -> float:
        return 1.0 if m > band else -1.0 if m < -band else 0.0

    for t in range(h, 400 - h):
        future, past = cls(move(y[t : t + h + 1])), cls(move(y[t - h : t + 1]))
        assert trend[t, 0] == future
        assert reversal[t, 0] == float(past != 0 and future == -past)
    assert np.isnan(trend[-h:, 0]).all() and np.isnan(reversal[:h, 0]).all()
    assert np.nansum(reversal) > 0


def test_a_label_at_t_uses_bars_up_to_t_plus_horizon_and_no_further(spy_daily: pd.DataFrame) -> None:
    close = spy_daily["close"].to_numpy()[:300, None]
    h = 5
    longer = np.vstack([close, close[-50:] * 3.0])
    for fn in (direction_labels, trend_labels, reversal_labels):
        a, b = fn(close, h, 0.01, 0.0), fn(longer, h, 0.01, 0.0)
        np.testing.assert_array_equal(a[: 300 - h], b[: 300 - h])


def test_no_feature_module_imports_the_labels() -> None:
    root = Path(features_pkg.__file__).parent
    for path in root.glob("*.py"):
        if path.name == "labels.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert "labels" not in (node.module or ""), path.name
            elif isinstance(node, ast.Import):
                assert all("labels" not in a.name for a in node.names), path.name
