"""Position sizing: fractional Kelly from calibrated probabilities, and volatility targeting."""

from __future__ import annotations

import numpy as np

from papertrader.core.arrays import Array
from papertrader.features.volatility import rolling_std, std_along


def kelly_weights(p_win: Array, payoff: Array, direction: Array, fraction: float, cap: float) -> Array:
    """Signed weights from the Kelly criterion f* = p - (1 - p) / b, scaled by `fraction` and capped.

    p_win is the calibrated probability that the trade in `direction` (+1 long, -1 short, 0 none) pays,
    payoff the expected win / loss ratio. A negative edge means no position, never the opposite one.
    """
    b = np.where(np.isfinite(payoff) & (payoff > 0), payoff, np.nan)
    edge = p_win - (1.0 - p_win) / b
    size = np.clip(np.nan_to_num(edge, nan=0.0) * fraction, 0.0, cap)
    return np.asarray(np.sign(direction) * size, dtype=np.float64)


def vol_target_scale(volatility: Array, target: float, max_scale: float = 1.0) -> Array:
    """Multiplier bringing each position's annualised volatility to the target (never above max_scale)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(np.isfinite(volatility) & (volatility > 0), target / volatility, max_scale)
    return np.asarray(np.clip(scale, 0.0, max_scale), dtype=np.float64)


def trailing_volatility(close: Array, window: int, periods_per_year: float) -> Array:
    """Annualised stdev of log returns over the last `window` bars of each symbol (row t uses rows <= t)."""
    t, n = close.shape
    out = np.full((t, n), np.nan)
    for j in range(n):
        rows = np.flatnonzero(np.isfinite(close[:, j]))
        if rows.size <= window:
            continue
        rets = np.diff(np.log(close[rows, j]))
        sd = rolling_std(rets, window, ddof=1)[window - 1 :]
        out[rows[window:], j] = sd * np.sqrt(periods_per_year)
    return out


def trailing_volatility_rows(close: Array, first: int, window: int, periods_per_year: float) -> Array:
    """Rows `first`.. of `trailing_volatility(close, ...)`, computed for those rows only (a live bar's tail).

    A symbol whose last `window + 1` rows are all bars gets its window in one vectorised pass (the same two-pass
    arithmetic on the same contiguous values, so the same bits); the others go through the per-symbol form.
    """
    t, n = close.shape
    out = np.full((t - first, n), np.nan)
    for r in range(first, t):
        block = close[max(0, r - window) : r + 1]
        whole = (block.shape[0] == window + 1) & np.isfinite(block).all(axis=0)
        if whole.any():
            rets = np.ascontiguousarray(np.diff(np.log(block[:, whole]), axis=0).T)  # (symbols, window)
            out[r - first, whole] = std_along(rets, axis=-1, ddof=1) * np.sqrt(periods_per_year)
        rest = np.flatnonzero(~whole & np.isfinite(close[r]))
        if rest.size:
            out[r - first, rest] = trailing_volatility(close[: r + 1, rest], window, periods_per_year)[-1]
    return out
