"""Bid-ask spread estimators from OHLC bars, for when no quotes are available.

Both estimators return the FULL proportional spread (a fraction of the price: 0.0002 = 2 bps), take
arrays of shape (T,) or (T, N) with time on axis 0, skip NaN pairs, and use only the bars they are given,
so a caller that passes bars before t gets an estimate free of look-ahead.

- Abdi & Ranaldo (2017), "A Simple Estimation of Bid-Ask Spreads from Daily Close, High, and Low
  Prices", Review of Financial Studies 30(12): with c_t the log close and eta_t the log mid-range
  (log H_t + log L_t) / 2, S^2 = 4 E[(c_t - eta_t)(c_t - eta_{t+1})]; S = sqrt(max(S^2, 0)).
- Corwin & Schultz (2012), "A Simple Way to Estimate Bid-Ask Spreads from Daily High and Low Prices",
  Journal of Finance 67(2): for each pair of consecutive bars, beta = sum of the two squared log ranges,
  gamma = squared log range of the pair, alpha = (sqrt(2 beta) - sqrt(beta)) / (3 - 2 sqrt 2)
  - sqrt(gamma / (3 - 2 sqrt 2)), S = 2 (e^alpha - 1) / (1 + e^alpha); bar t+1's high and low are first
  shifted (in price) by any gap from close t (the paper's overnight adjustment), negative pair estimates are set
  to zero, and the pairs are averaged.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt

from papertrader.core.arrays import Array

_K = 3.0 - 2.0 * np.sqrt(2.0)


def _as_2d(*arrays: npt.ArrayLike) -> tuple[Array, ...]:
    out = tuple(np.asarray(a, dtype=np.float64) for a in arrays)
    if out[0].ndim == 1:
        out = tuple(a[:, None] for a in out)
    return out


def _nanmean(x: Array) -> Array:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return np.asarray(np.nanmean(x, axis=0), dtype=np.float64)


def abdi_ranaldo_spread(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> Array:
    """Full proportional spread per column from closes and mid-ranges: the less biased estimator on bars."""
    h, lo, c = _as_2d(high, low, close)
    eta = (np.log(h) + np.log(lo)) / 2.0
    lc = np.log(c)
    terms = 4.0 * (lc[:-1] - eta[:-1]) * (lc[:-1] - eta[1:])
    s2 = _nanmean(terms)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(s2), np.nan, np.sqrt(np.maximum(s2, 0.0)))


def corwin_schultz_pairs(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> Array:
    """The per-pair Corwin-Schultz estimates (T-1 rows), gap-adjusted and not yet floored at zero."""
    h, lo, c = _as_2d(high, low, close)
    h1, l1, c0 = h[1:], lo[1:], c[:-1]
    shift = np.maximum(l1 - c0, 0.0) - np.maximum(c0 - h1, 0.0)  # the price moved between the bars (in $)
    h1, l1 = h1 - shift, l1 - shift
    beta = np.log(h[:-1] / lo[:-1]) ** 2 + np.log(h1 / l1) ** 2
    gamma = np.log(np.maximum(h[:-1], h1) / np.minimum(lo[:-1], l1)) ** 2
    alpha = (np.sqrt(2.0 * beta) - np.sqrt(beta)) / _K - np.sqrt(gamma / _K)
    return np.asarray(2.0 * (np.exp(alpha) - 1.0) / (1.0 + np.exp(alpha)), dtype=np.float64)


def corwin_schultz_spread(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> Array:
    """Full proportional spread per column from consecutive bars' high-low ranges (negatives set to 0)."""
    return _nanmean(np.maximum(corwin_schultz_pairs(high, low, close), 0.0))


def estimate_spread(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    method: str = "abdi_ranaldo",
    min_tick: float = 0.0,
) -> Array:
    """Estimated full spread per column, at least one tick of the last close (a spread cannot be less)."""
    est = (
        corwin_schultz_spread(high, low, close) if method == "corwin_schultz" else abdi_ranaldo_spread(high, low, close)
    )
    if min_tick > 0:
        (c,) = _as_2d(close)
        last = _last_valid(c)
        with np.errstate(invalid="ignore", divide="ignore"):
            est = np.where(np.isnan(est), est, np.maximum(est, min_tick / last))
    return est


def _last_valid(x: Array) -> Array:
    """Each column's last finite value (NaN if none)."""
    rows = np.where(np.isfinite(x), np.arange(x.shape[0])[:, None], -1).max(axis=0)
    out = np.full(x.shape[1], np.nan)
    ok = rows >= 0
    out[ok] = x[rows[ok], np.flatnonzero(ok)]
    return out
