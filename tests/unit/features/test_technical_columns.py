"""`compute_technical(..., only=...)` computes just the named columns, each bit for bit what the full set gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from papertrader.features import technical
from papertrader.features.technical import PriceArrays, TechnicalSpec, compute_technical
from papertrader.features.volatility import std_along


def _panel(bars: pd.DataFrame, gap: bool = False) -> PriceArrays:
    cols = [bars[c].to_numpy(dtype=float)[:, None] for c in ("open", "high", "low", "close", "volume")]
    if gap:  # a second symbol with missing bars, so the scatter over present rows is exercised too
        cols = [np.hstack([c, c * 1.5]) for c in cols]
        for c in cols:
            c[100:140, 1] = np.nan
    return PriceArrays(*cols)


@pytest.mark.parametrize("relative", [False, True])
def test_every_single_column_alone_equals_the_same_column_of_the_full_set(
    spy_daily: pd.DataFrame, relative: bool
) -> None:
    panel = _panel(spy_daily.iloc[:1200], gap=True)
    spec = TechnicalSpec(relative=relative)
    full = compute_technical(panel, spec)
    for name in spec.names():
        alone = compute_technical(panel, spec, only=[name])
        assert list(alone) == [name]
        assert np.array_equal(alone[name], full[name], equal_nan=True), name
        assert alone[name].dtype == full[name].dtype


def test_a_subset_keeps_the_specs_column_order_and_only_what_was_asked(spy_daily: pd.DataFrame) -> None:
    panel = _panel(spy_daily.iloc[:600])
    spec = TechnicalSpec(sma=(20, 50))
    got = compute_technical(panel, spec, only=["sma_50", "atr_14", "sma_20", "bb_pctb"])
    assert list(got) == ["sma_20", "sma_50", "atr_14", "bb_pctb"]
    assert compute_technical(panel, spec, only=[]) == {}


def test_a_column_the_spec_does_not_make_is_refused_by_name(spy_daily: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="sma_7"):
        compute_technical(_panel(spy_daily.iloc[:100]), TechnicalSpec(), only=["sma_7", "sma_20"])


def test_relative_columns_need_their_raw_indicators() -> None:
    spec = TechnicalSpec(relative=True)
    assert spec.raw_needs(["sma_20_rel", "volume_rel_20", "macd_hist_rel", "rsi_14"]) == {
        "sma_20",
        "volume_sma_20",
        "macd_hist",
        "rsi_14",
    }
    assert TechnicalSpec().raw_needs(["sma_20"]) == {"sma_20"}


@pytest.mark.parametrize("rows", [1, 7, 1000])
def test_window_mean_std_in_passes_equals_one_pass_over_every_window_bit_for_bit(
    spy_daily: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, rows: int
) -> None:
    # real SPY closes: the Bollinger window (ddof 0) and the log-return volatility window (ddof 1)
    close = spy_daily["close"].to_numpy(dtype=np.float64)
    logret = np.diff(np.log(close))
    monkeypatch.setattr(technical, "ROWS_PER_PASS", rows)
    for x, n, ddof in ((close, 20, 0), (logret, 20, 1), (close, 50, 0)):
        w = sliding_window_view(x, n)
        mean, std = np.full(x.shape, np.nan), np.full(x.shape, np.nan)
        mean[n - 1 :], std[n - 1 :] = w.mean(axis=-1), std_along(w, axis=-1, ddof=ddof)
        got_mean, got_std = technical.window_mean_std(x, n, ddof)
        assert np.array_equal(got_mean, mean, equal_nan=True) and np.array_equal(got_std, std, equal_nan=True)
