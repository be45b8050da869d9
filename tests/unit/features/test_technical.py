"""TA-Lib indicators checked against independent pandas computations on real SPY bars."""

from __future__ import annotations

import numpy as np
import pandas as pd

from papertrader.features.technical import PriceArrays, TechnicalSpec, compute_technical
from papertrader.features.view import FeatureView


def _panel(bars: pd.DataFrame) -> PriceArrays:
    cols = [bars[c].to_numpy(dtype=float)[:, None] for c in ("open", "high", "low", "close", "volume")]
    return PriceArrays(*cols)


def test_sma_ema_bbands_match_pandas_on_real_bars(spy_daily: pd.DataFrame) -> None:
    bars = spy_daily.iloc[:1500]
    f = compute_technical(_panel(bars), TechnicalSpec(sma=(20, 50)))
    close = bars["close"].reset_index(drop=True)
    np.testing.assert_allclose(f["sma_50"][:, 0], close.rolling(50).mean(), rtol=1e-10, equal_nan=True)
    std = close.rolling(20).std(ddof=0)
    np.testing.assert_allclose(f["bb_upper"][:, 0], close.rolling(20).mean() + 2 * std, rtol=1e-9, equal_nan=True)
    # TA-Lib seeds EMA with the SMA of the first `period` values, then recurses with alpha 2/(p+1)
    period = 12
    seeded = close.copy()
    seeded.iloc[: period - 1] = np.nan
    seeded.iloc[period - 1] = close.iloc[:period].mean()
    ema = seeded.ewm(alpha=2 / (period + 1), adjust=False, ignore_na=True).mean()
    ema.iloc[: period - 1] = np.nan
    np.testing.assert_allclose(f["ema_12"][:, 0], ema, rtol=1e-9, equal_nan=True)


def test_rsi_and_atr_match_wilder_smoothing_on_real_bars(spy_daily: pd.DataFrame) -> None:
    bars = spy_daily.iloc[:800].reset_index(drop=True)
    f = compute_technical(_panel(bars))
    n = 14
    diff = bars["close"].diff().to_numpy()
    gain, loss = np.clip(diff, 0, None), np.clip(-diff, 0, None)
    avg_gain, avg_loss = gain[1 : n + 1].mean(), loss[1 : n + 1].mean()
    rsi = np.full(len(bars), np.nan)
    rsi[n] = 100 * avg_gain / (avg_gain + avg_loss)
    for t in range(n + 1, len(bars)):
        avg_gain = (avg_gain * (n - 1) + gain[t]) / n
        avg_loss = (avg_loss * (n - 1) + loss[t]) / n
        rsi[t] = 100 * avg_gain / (avg_gain + avg_loss)
    np.testing.assert_allclose(f["rsi_14"][:, 0], rsi, rtol=1e-9, equal_nan=True)

    prev = bars["close"].shift(1)
    tr = np.maximum(bars["high"] - bars["low"], np.maximum((bars["high"] - prev).abs(), (bars["low"] - prev).abs()))
    atr = np.full(len(bars), np.nan)
    atr[n] = tr.iloc[1 : n + 1].mean()
    for t in range(n + 1, len(bars)):
        atr[t] = (atr[t - 1] * (n - 1) + tr.iloc[t]) / n
    np.testing.assert_allclose(f["atr_14"][:, 0], atr, rtol=1e-9, equal_nan=True)


def test_features_up_to_t_do_not_change_when_later_bars_are_cut(spy_daily: pd.DataFrame) -> None:
    bars = spy_daily.iloc[:1200]
    full = compute_technical(_panel(bars))
    cut = compute_technical(_panel(bars.iloc[:700]))
    for name, values in cut.items():
        np.testing.assert_array_equal(values, full[name][:700], err_msg=name)


def test_a_gap_in_one_symbol_does_not_poison_its_later_indicators(spy_daily: pd.DataFrame) -> None:
    bars = spy_daily.iloc[:300]
    p = _panel(bars)
    gapped = PriceArrays(*(a.copy() for a in (p.open, p.high, p.low, p.close, p.volume)))
    for a in (gapped.open, gapped.high, gapped.low, gapped.close, gapped.volume):
        a[100] = np.nan
    f = compute_technical(gapped)
    assert np.isnan(f["sma_20"][100, 0])
    assert np.isfinite(f["sma_20"][101:, 0]).all() and np.isfinite(f["rsi_14"][101:, 0]).all()


def test_feature_view_cannot_read_past_its_cycle() -> None:
    values = {"x": np.arange(10.0).reshape(5, 2)}
    view = FeatureView(values, 2)
    assert view.now("x").tolist() == [4.0, 5.0]
    assert view.window("x", 10).shape == (3, 2)
