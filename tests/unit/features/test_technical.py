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


def _seeded_ema(x: np.ndarray, period: int, first: int) -> np.ndarray:
    """EMA seeded at index `first` with the mean of the `period` values ending there (TA-Lib's rule)."""
    out = np.full(x.size, np.nan)
    k = 2.0 / (period + 1)
    out[first] = x[first - period + 1 : first + 1].mean()
    for t in range(first + 1, x.size):
        out[t] = out[t - 1] + k * (x[t] - out[t - 1])
    return out


def test_macd_matches_emas_seeded_on_the_slow_emas_first_bar(spy_daily: pd.DataFrame) -> None:
    bars = spy_daily.iloc[:900].reset_index(drop=True)
    f = compute_technical(_panel(bars))
    c = bars["close"].to_numpy()
    line = _seeded_ema(c, 12, 25) - _seeded_ema(c, 26, 25)
    signal = np.full(c.size, np.nan)
    signal[33:] = _seeded_ema(line[25:], 9, 8)[8:]
    line[:33] = np.nan  # TA-Lib publishes the three series together, from the signal's first bar
    np.testing.assert_allclose(f["macd"][:, 0], line, rtol=1e-9, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(f["macd_signal"][:, 0], signal, rtol=1e-9, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(f["macd_hist"][:, 0], line - signal, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_stochastic_and_williams_r_match_rolling_extremes(spy_daily: pd.DataFrame) -> None:
    bars = spy_daily.iloc[:900].reset_index(drop=True)
    f = compute_technical(_panel(bars))
    hh, ll = bars["high"].rolling(14).max(), bars["low"].rolling(14).min()
    fast_k = 100 * (bars["close"] - ll) / (hh - ll)
    slow_k = fast_k.rolling(3).mean()
    slow_d = slow_k.rolling(3).mean()
    assert np.isnan(f["stoch_k"][:17, 0]).all() and np.isfinite(f["stoch_k"][17:, 0]).all()
    np.testing.assert_allclose(f["stoch_k"][17:, 0], slow_k[17:], rtol=1e-9)
    np.testing.assert_allclose(f["stoch_d"][17:, 0], slow_d[17:], rtol=1e-9)
    willr = -100 * (hh - bars["close"]) / (hh - ll)
    np.testing.assert_allclose(f["willr_14"][:, 0], willr, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_volume_sma_roc_obv_and_obv_slope_match_pandas(spy_daily: pd.DataFrame) -> None:
    bars = spy_daily.iloc[:700].reset_index(drop=True)
    f = compute_technical(_panel(bars))
    v, c = bars["volume"], bars["close"]
    np.testing.assert_allclose(f["volume_sma_20"][:, 0], v.rolling(20).mean(), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(f["volume_roc_10"][:, 0], (v / v.shift(10) - 1) * 100, rtol=1e-9, equal_nan=True)
    step = np.sign(c.diff().fillna(0.0)) * v
    step.iloc[0] = v.iloc[0]
    obv = step.cumsum()
    np.testing.assert_allclose(f["obv"][:, 0], obv, rtol=1e-12)
    slope = (obv - obv.shift(20)) / v.rolling(20).sum()
    np.testing.assert_allclose(f["obv_slope_20"][:, 0], slope, rtol=1e-9, equal_nan=True)
    assert np.nanmax(np.abs(f["obv_slope_20"])) <= 1.0


def test_bollinger_width_pctb_and_historical_volatility_match_pandas(spy_daily: pd.DataFrame) -> None:
    bars = spy_daily.iloc[:700].reset_index(drop=True)
    f = compute_technical(_panel(bars))
    c = bars["close"]
    mid, std = c.rolling(20).mean(), c.rolling(20).std(ddof=0)
    upper, lower = mid + 2 * std, mid - 2 * std
    np.testing.assert_allclose(f["bb_width"][:, 0], (upper - lower) / mid, rtol=1e-9, equal_nan=True)
    pctb = (c - lower) / (upper - lower)
    np.testing.assert_allclose(f["bb_pctb"][:, 0], pctb, rtol=1e-9, atol=1e-12, equal_nan=True)
    hv = np.log(c).diff().rolling(20).std(ddof=1) * np.sqrt(252)
    np.testing.assert_allclose(f["hv_20"][:, 0], hv, rtol=1e-9, equal_nan=True)


def test_relative_indicators_are_the_raw_ones_over_price_and_volume(spy_daily: pd.DataFrame) -> None:
    bars = spy_daily.iloc[:600].reset_index(drop=True)
    raw = compute_technical(_panel(bars))
    rel = compute_technical(_panel(bars), TechnicalSpec(relative=True))
    c, v = bars["close"].to_numpy()[:, None], bars["volume"].to_numpy()[:, None]
    np.testing.assert_allclose(rel["sma_200_rel"], c / raw["sma_200"] - 1, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(rel["ema_26_rel"], c / raw["ema_26"] - 1, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(rel["macd_hist_rel"], raw["macd_hist"] / c, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(rel["atr_14_rel"], raw["atr_14"] / c, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(rel["volume_rel_20"], v / raw["volume_sma_20"] - 1, rtol=1e-12, equal_nan=True)
    assert set(rel) == set(TechnicalSpec(relative=True).names())


def test_bollinger_std_has_no_drift_on_minute_prices_unlike_talib_running_sums() -> None:
    import talib
    from feature_data import load_bars

    bars = load_bars("1m", ("SPY",), "{symbol}-trade-2011.csv.gz").reset_index(drop=True)
    close = bars["close"].to_numpy()
    f = compute_technical(_panel(bars))
    # reference: two-pass in extended precision (pandas' own rolling std also uses running sums)
    windows = np.lib.stride_tricks.sliding_window_view(close.astype(np.longdouble), 20)
    dev = windows - windows.mean(axis=1, keepdims=True)
    exact = np.full(close.size, np.nan)
    exact[19:] = np.sqrt((dev**2).mean(axis=1)).astype(np.float64)
    ours = (f["bb_upper"][:, 0] - f["bb_middle"][:, 0]) / 2
    upper, middle, _ = talib.BBANDS(close, 20, 2.0, 2.0, 0)
    theirs = (upper - middle) / 2
    moving = exact > 1e-6
    ours_err = np.abs(ours - exact)[moving] / exact[moving]
    theirs_err = np.abs(theirs - exact)[moving] / exact[moving]
    assert ours_err.max() < 1e-11
    assert theirs_err.max() > 10 * ours_err.max()  # why the bands are not TA-Lib's: E[x^2]-E[x]^2 drifts
