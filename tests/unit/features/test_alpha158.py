"""Alpha158 factors: Qlib's definitions on real bars, each symbol's own bars only, nothing after t."""

from __future__ import annotations

import numpy as np
import pandas as pd
from feature_data import inputs, load_bars
from scipy.stats import percentileofscore

from papertrader.features.alpha158 import alpha158, feature_names
from papertrader.features.technical import PriceArrays


def _bars() -> pd.DataFrame:
    bars = load_bars("1d", ("SPY", "IBM", "GOOG"))
    return bars[(bars["ts"] >= "2003-06-01") & (bars["ts"] < "2006-01-01")].reset_index(drop=True)


def test_factors_match_a_direct_pandas_computation_of_qlibs_expressions_per_symbol() -> None:
    inp = inputs(_bars(), "1d")
    x = alpha158(inp.prices)
    names = feature_names()
    assert x.shape[2] == len(names) == 157
    col = {n: i for i, n in enumerate(names)}
    p = inp.prices
    for j in range(len(inp.symbols)):
        rows = np.flatnonzero(np.isfinite(p.close[:, j]))  # GOOG starts in 2004: its own bars only
        c, o, h, lo, v = (pd.Series(a[rows, j]) for a in (p.close, p.open, p.high, p.low, p.volume))
        r = c.rolling(20)
        expected = {
            "KMID": (c - o) / o,
            "KSFT2": (2 * c - h - lo) / (h - lo + 1e-12),
            "ROC10": c.shift(10) / c,
            "MA20": r.mean() / c,
            "STD20": r.std() / c,
            "BETA20": r.apply(lambda w: np.polyfit(np.arange(20), w, 1)[0], raw=True) / c,
            "RESI20": r.apply(lambda w: w[-1] - np.polyval(np.polyfit(np.arange(20), w, 1), 19), raw=True) / c,
            "RSQR20": r.apply(lambda w: np.corrcoef(np.arange(20), w)[0, 1] ** 2, raw=True),
            "QTLU20": r.quantile(0.8) / c,
            "RANK20": r.apply(lambda w: percentileofscore(w, w[-1]) / 100, raw=True),
            "IMAX20": h.rolling(20).apply(lambda w: w.argmax() + 1, raw=True) / 20,
            "IMXD5": (
                h.rolling(5).apply(lambda w: w.argmax() + 1, raw=True)
                - lo.rolling(5).apply(lambda w: w.argmin() + 1, raw=True)
            )
            / 5,
            "RSV30": (c - lo.rolling(30).min()) / (h.rolling(30).max() - lo.rolling(30).min() + 1e-12),
            "CORR10": c.rolling(10).corr(np.log(v + 1)),
            "CNTD60": (c > c.shift(1)).astype(float).rolling(60).mean()
            - (c < c.shift(1)).astype(float).rolling(60).mean(),
            "SUMP5": (c - c.shift(1)).clip(lower=0).rolling(5).sum()
            / ((c - c.shift(1)).abs().rolling(5).sum() + 1e-12),
            "VSTD10": v.rolling(10).std() / (v + 1e-12),
            "WVMA5": ((c / c.shift(1) - 1).abs() * v).rolling(5).std()
            / (((c / c.shift(1) - 1).abs() * v).rolling(5).mean() + 1e-12),
        }
        for name, series in expected.items():
            got = x[rows, j, col[name]].astype(np.float64)
            want = series.to_numpy()
            if name.startswith("CNT"):
                want[:60] = np.nan  # the first bar has no previous close: its window is not full yet
            ok = np.isfinite(want)
            assert ok.sum() > 250, name
            np.testing.assert_allclose(got[ok], want[ok], rtol=2e-5, atol=2e-6, err_msg=name)
            assert np.isnan(got[~ok]).all(), name


def test_a_factor_at_t_is_unchanged_when_the_bars_after_t_are_cut_or_altered() -> None:
    inp = inputs(_bars(), "1d")
    full = alpha158(inp.prices)
    cut = 400
    p = inp.prices
    altered = PriceArrays(
        *(np.vstack([a[:cut], a[cut:] * 1.7]) for a in (p.open, p.high, p.low, p.close)),
        np.vstack([p.volume[:cut], p.volume[cut:] * 0.1]),
    )
    truncated = PriceArrays(*(a[:cut] for a in (p.open, p.high, p.low, p.close, p.volume)))
    np.testing.assert_array_equal(alpha158(truncated), full[:cut])
    np.testing.assert_array_equal(alpha158(altered)[:cut], full[:cut])
