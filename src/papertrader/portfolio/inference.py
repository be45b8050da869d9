"""How sure a comparison of equity curves is: Sharpe intervals, a paired Sharpe test, a volatility-matched reference.

Pure functions of return arrays (period returns, risk-free rate 0, Sharpe annualised with sqrt(periods per year),
the same estimator as ``portfolio.metrics.sharpe``):

* **Sharpe interval**: the asymptotic standard error of Mertens (2002), which extends Lo (2002)'s i.i.d.
  formula to skewed, fat-tailed returns: ``Var(SR) = (1 + SR^2/2 - skew*SR + (kurt-3)/4*SR^2) / T`` per period
  (``kurt`` the raw kurtosis, 3 for a normal, where it reduces to Lo's ``(1 + SR^2/2) / T``). The interval is
  ``SR +- z * SE``. It assumes serially uncorrelated returns; a curve that sits in cash has no interval (NaN).
* **Paired Sharpe difference**: SR(a) - SR(b) on the *same* dates, with a stationary block bootstrap
  (Politis and Romano 1994, ``arch.bootstrap.StationaryBootstrap``) that resamples the pairs of returns
  together, so the two curves' correlation and each one's autocorrelation are kept. Mean block length:
  the Politis-White (2004) automatic choice (``arch.bootstrap.optimal_block_length``, the larger of the two
  series' estimates, at least 1). Interval: percentile of the bootstrap differences; p-value (two-sided,
  H0: equal Sharpe): share of centred bootstrap differences at least as far from 0 as the observed one.
  Seeded, so the same curves give the same numbers.
* **Volatility-matched buy-and-hold**: a constant fraction ``f`` of equity in buy-and-hold, the rest in cash
  (rebalanced every bar, rebalancing costs not charged), with ``f = vol(target) / vol(buy-and-hold)`` capped at
  1 (no leverage). ``f`` uses the target's *realised* (ex-post) volatility over the same window, so it is a
  reference, not a tradable strategy. Its Sharpe equals buy-and-hold's (scaling returns does not change it);
  what it shows is the return and drawdown buy-and-hold earns at the board's risk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Final

import numpy as np

from papertrader.core.arrays import FloatArray

SHARPE_CI_METHOD: Final = "Mertens (2002) asymptotic standard error (Lo 2002 with skew and kurtosis), normal interval"
PAIRED_METHOD: Final = "stationary block bootstrap of paired returns (Politis-Romano; Politis-White block length)"
VOL_MATCH_METHOD: Final = (
    "constant fraction of buy-and-hold, rest cash; fraction from ex-post realised vol, capped at 1"
)


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def period_sharpe(rets: FloatArray) -> float:
    """Per-period mean over standard deviation (ddof 1); 0 when the returns never move or are too few."""
    rets = np.asarray(rets, dtype=np.float64)
    if rets.size < 2:
        return 0.0
    sd = float(np.std(rets, ddof=1))
    return 0.0 if sd == 0 else float(np.mean(rets)) / sd


@dataclass(frozen=True)
class SharpeInterval:
    """An annualised Sharpe ratio with its standard error and a two-sided interval (NaN when undefined)."""

    sharpe: float
    se: float
    low: float
    high: float
    n: int
    confidence: float

    def to_json(self) -> dict[str, Any]:
        """Stable keys for compare and trial JSON (NaN becomes null)."""
        return {
            "sharpe": _num(self.sharpe),
            "se": _num(self.se),
            "low": _num(self.low),
            "high": _num(self.high),
            "n": self.n,
            "confidence": self.confidence,
            "method": SHARPE_CI_METHOD,
        }


def sharpe_interval(rets: FloatArray, periods_per_year: float, confidence: float = 0.95) -> SharpeInterval:
    """Annualised Sharpe with the Mertens (2002) standard error: a one-number result is not a finding."""
    rets = np.asarray(rets, dtype=np.float64)
    rets = rets[np.isfinite(rets)]
    n = int(rets.size)
    scale = math.sqrt(periods_per_year)
    sr = period_sharpe(rets)
    if n < 3 or float(np.std(rets)) == 0:
        return SharpeInterval(sr * scale, math.nan, math.nan, math.nan, n, confidence)
    centred = rets - rets.mean()
    m2 = float(np.mean(centred**2))
    skew = float(np.mean(centred**3)) / m2**1.5
    kurt = float(np.mean(centred**4)) / m2**2
    var = (1.0 + 0.5 * sr * sr - skew * sr + (kurt - 3.0) / 4.0 * sr * sr) / n
    se = math.sqrt(max(var, 0.0)) * scale
    z = _z(confidence)
    return SharpeInterval(sr * scale, se, sr * scale - z * se, sr * scale + z * se, n, confidence)


def _row_sharpe(samples: FloatArray) -> FloatArray:
    """period_sharpe of every row of a (reps, n) matrix of resampled returns (0 where a row never moves)."""
    sd = samples.std(axis=1, ddof=1)
    mean = samples.mean(axis=1)
    out: FloatArray = np.divide(mean, sd, out=np.zeros_like(mean), where=sd > 0)
    return out


@dataclass(frozen=True)
class SharpeDifference:
    """SR(a) - SR(b) on the same dates, annualised, with a bootstrap interval and a two-sided p-value."""

    difference: float
    low: float
    high: float
    p_value: float
    n: int
    block_size: int
    reps: int
    confidence: float

    def to_json(self) -> dict[str, Any]:
        """Stable keys for compare and trial JSON (NaN becomes null)."""
        return {
            "difference": _num(self.difference),
            "low": _num(self.low),
            "high": _num(self.high),
            "p_value": _num(self.p_value),
            "n": self.n,
            "block_size": self.block_size,
            "reps": self.reps,
            "confidence": self.confidence,
            "method": PAIRED_METHOD,
        }


def block_length(*series: FloatArray) -> int:
    """Politis-White mean block length for a stationary bootstrap: the largest over the series, at least 1."""
    from arch.bootstrap import optimal_block_length

    best = 1.0
    for x in series:
        x = np.asarray(x, dtype=np.float64)
        if x.size >= 10 and float(np.std(x)) > 0:
            best = max(best, float(optimal_block_length(x)["stationary"].iloc[0]))
    n = min(np.asarray(s).size for s in series) if series else 1
    return int(max(1, min(math.ceil(best), max(1, n // 4))))


def sharpe_difference(
    a: FloatArray,
    b: FloatArray,
    periods_per_year: float,
    confidence: float = 0.95,
    reps: int = 2000,
    seed: int = 0,
    block_size: int | None = None,
) -> SharpeDifference:
    """Paired test of SR(a) - SR(b) on the same dates (stationary bootstrap): is a better, or just luckier?"""
    from arch.bootstrap import StationaryBootstrap

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired returns must have the same dates: {a.shape} vs {b.shape}")
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    n = int(a.size)
    scale = math.sqrt(periods_per_year)
    diff = (period_sharpe(a) - period_sharpe(b)) * scale
    _z(confidence)
    if n < 10:
        return SharpeDifference(diff, math.nan, math.nan, math.nan, n, 0, 0, confidence)
    block = block_size if block_size is not None else block_length(a, b)
    boot = StationaryBootstrap(block, a, b, seed=np.random.default_rng(seed))
    idx = np.stack([np.asarray(boot.update_indices(), dtype=np.int64) for _ in range(reps)])
    draws = (_row_sharpe(a[idx]) - _row_sharpe(b[idx])) * scale
    tail = (1 - confidence) / 2
    low, high = (float(v) for v in np.quantile(draws, [tail, 1 - tail]))
    p = (1 + int(np.sum(np.abs(draws - diff) >= abs(diff)))) / (reps + 1)
    return SharpeDifference(diff, low, high, min(1.0, p), n, block, reps, confidence)


@dataclass(frozen=True)
class VolMatched:
    """Buy-and-hold scaled to a target's realised volatility: its curve, fraction and the two volatilities."""

    equity: FloatArray
    fraction: float
    target_vol: float
    source_vol: float
    capped: bool

    def to_json(self) -> dict[str, Any]:
        """Stable keys for compare and trial JSON (volatilities per period)."""
        return {
            "fraction": self.fraction,
            "target_vol": _num(self.target_vol),
            "source_vol": _num(self.source_vol),
            "capped": self.capped,
            "method": VOL_MATCH_METHOD,
        }


def vol_matched(source_equity: FloatArray, target_rets: FloatArray, max_fraction: float = 1.0) -> VolMatched:
    """Hold a constant fraction of equity in the source (buy-and-hold) so its vol equals the target's (ex-post)."""
    equity = np.asarray(source_equity, dtype=np.float64)
    target = np.asarray(target_rets, dtype=np.float64)
    rets = equity[1:] / equity[:-1] - 1.0 if equity.size > 1 else np.zeros(0)
    source_vol = float(np.std(rets, ddof=1)) if rets.size > 1 else 0.0
    target_vol = float(np.std(target, ddof=1)) if target.size > 1 else 0.0
    wanted = target_vol / source_vol if source_vol > 0 else 0.0
    fraction = min(wanted, max_fraction)
    start = float(equity[0]) if equity.size else 0.0
    curve = start * np.concatenate([[1.0], np.cumprod(1.0 + fraction * rets)]) if equity.size else equity
    return VolMatched(
        np.asarray(curve, dtype=np.float64), float(fraction), target_vol, source_vol, wanted > max_fraction
    )
