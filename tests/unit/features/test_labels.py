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
    entry_prices,
    excess_over_universe,
    next_open_returns,
    reversal_labels,
    trend_labels,
)


def test_a_flat_band_narrower_than_the_round_trip_cost_is_refused() -> None:
    opens = np.ones((10, 1))
    for fn in (direction_labels, trend_labels):
        with pytest.raises(ConfigError, match="narrower than the round-trip cost"):
            fn(opens, 3, band=0.001, round_trip_cost=0.002)
    with pytest.raises(ConfigError, match="narrower than the round-trip cost"):
        reversal_labels(opens, opens, 3, band=0.001, round_trip_cost=0.002)
    direction_labels(opens, 3, band=0.002, round_trip_cost=0.002)  # equal is allowed
    per_cell = np.full((10, 1), 0.002)
    per_cell[4] = 0.01  # one expensive cell: a band that is wide enough elsewhere is still refused
    with pytest.raises(ConfigError, match="narrower than the round-trip cost"):
        direction_labels(opens, 3, band=0.005, round_trip_cost=per_cell)


# Issue 13 changed what a label measures: the old tests pinned close[t] -> close[t+h] (a price nobody can
# trade at once the decision is taken at t's close). A label is now the trade decided at t's close, entered
# at the next own bar's open and exited at the open h own bars after it, so these tests pin that instead.
def test_direction_labels_follow_the_next_open_return_on_each_symbols_own_bars(etf_daily: pd.DataFrame) -> None:
    inp = inputs(etf_daily[etf_daily["ts"] < "2002-01-01"], "1d")
    opens = inp.prices.open
    band = np.full(opens.shape, 0.01)
    band[::7] = 0.03  # a band that differs per row, as a price-dependent cost makes it
    labels = direction_labels(opens, 5, band=band, round_trip_cost=0.002)
    for j in range(opens.shape[1]):
        rows = np.flatnonzero(np.isfinite(opens[:, j]))
        o = pd.Series(opens[rows, j])
        fwd = o.shift(-6) / o.shift(-1) - 1  # enter at the next open, exit 5 own bars after it
        b = band[rows, j]
        expected = np.where(fwd > b, 1.0, np.where(fwd < -b, -1.0, 0.0))
        expected[fwd.isna().to_numpy()] = np.nan
        np.testing.assert_array_equal(labels[rows, j], expected)
        np.testing.assert_allclose(next_open_returns(opens, 5)[rows, j], fwd, rtol=1e-12)
        np.testing.assert_allclose(entry_prices(opens)[rows, j], o.shift(-1), rtol=0)
        assert np.isnan(labels[: rows[0], j]).all() and np.isnan(labels[rows[-6:], j]).all()
    assert set(np.unique(class_index(labels))) == {-1, 0, 1, 2}


def test_trend_and_reversal_labels_match_least_squares_slopes(spy_daily: pd.DataFrame) -> None:
    opens = spy_daily["open"].to_numpy()[:400, None]
    close = spy_daily["close"].to_numpy()[:400, None]
    h, band = 10, 0.02
    trend = trend_labels(opens, h, band, 0.001)
    reversal = reversal_labels(close, opens, h, band, 0.001)
    y_open, y_close = np.log(opens[:, 0]), np.log(close[:, 0])

    def move(window: np.ndarray) -> float:
        return float(np.polyfit(np.arange(h + 1), window, 1)[0] * h)

    def cls(m: float) -> float:
        return 1.0 if m > band else -1.0 if m < -band else 0.0

    for t in range(h, 400 - h - 1):
        future, past = cls(move(y_open[t + 1 : t + h + 2])), cls(move(y_close[t - h : t + 1]))
        assert trend[t, 0] == future
        assert reversal[t, 0] == float(past != 0 and future == -past)
    assert np.isnan(trend[-h - 1 :, 0]).all() and np.isnan(reversal[:h, 0]).all()
    assert np.nansum(reversal) > 0


def test_a_label_at_t_uses_nothing_after_the_open_h_plus_one_bars_later(spy_daily: pd.DataFrame) -> None:
    opens = spy_daily["open"].to_numpy()[:300, None]
    close = spy_daily["close"].to_numpy()[:300, None]
    h = 5
    longer_open = np.vstack([opens, opens[-50:] * 3.0])
    longer_close = np.vstack([close, close[-50:] * 0.2])
    n = 300 - h - 1  # rows whose exit open (t + 1 + h) lies inside the first 300 bars
    pairs = [
        (direction_labels(opens, h, 0.01, 0.0), direction_labels(longer_open, h, 0.01, 0.0)),
        (trend_labels(opens, h, 0.01, 0.0), trend_labels(longer_open, h, 0.01, 0.0)),
        (reversal_labels(close, opens, h, 0.01, 0.0), reversal_labels(longer_close, longer_open, h, 0.01, 0.0)),
    ]
    for a, b in pairs:
        np.testing.assert_array_equal(a[:n], b[:n])
    # and the exit open itself matters: moving only open[t + 1 + h] changes the return measured at t
    t = 100
    moved = opens.copy()
    moved[t + 1 + h] *= 1.5
    fwd, fwd_moved = next_open_returns(opens, h), next_open_returns(moved, h)
    assert fwd_moved[t, 0] != fwd[t, 0]
    np.testing.assert_array_equal(np.delete(fwd_moved, [t, t + h], axis=0), np.delete(fwd, [t, t + h], axis=0))


def test_excess_over_universe_removes_each_rows_mean_over_the_symbols_present() -> None:
    """Synthetic returns (unit test): the mean is taken over the symbols that have a return on that row."""
    r = np.array([[0.01, 0.03, np.nan], [np.nan, np.nan, np.nan], [0.0, 0.1, -0.1]])
    out = excess_over_universe(r)
    np.testing.assert_allclose(out[0, :2], [-0.01, 0.01])
    assert np.isnan(out[0, 2]) and np.isnan(out[1]).all()
    np.testing.assert_allclose(out[2], [0.0, 0.1, -0.1])


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
