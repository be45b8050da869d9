"""The drawdown budget: how much the account may still lose before its promised maximum drawdown.

The floor is `peak * (1 - (max_drawdown - budget_margin))`; the budget is the equity above it (the
margin keeps fees, rounding and the asymptotic approach to the floor away from the promised limit). Two rules spend it:

* Sizing (before orders): the estimated one-bar loss of the target portfolio, per position
  `|w| * (z * bar_sigma + gap_allowance + exit_cost)`, summed as if every position moved against the
  account together, must fit the budget as a fraction of equity. Exposure therefore shrinks in
  proportion to the budget as the drawdown deepens and grows back as equity recovers (a CPPI-style
  cushion whose floor ratchets up with the peak), instead of a cliff to zero.
* The intrabar guard (inside a bar): each position gets a level at which, if EVERY position reached
  its own level at once, the account would sit exactly one gap allowance (plus exit costs) above the
  floor. A position whose bar trades through its level exits there (or at the open when it opened
  beyond it). Whatever survives the bar keeps room for an adverse overnight gap of `gap_allowance`
  per position, so equity can end past the floor only through a gap larger than the allowance, which
  is reported as the cause.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from papertrader.core.arrays import Array

#: bar volatility assumed for a symbol without enough history for an estimate (4% a bar: a wild stock)
UNKNOWN_BAR_VOL = 0.04


def budget_limit(max_drawdown: float, margin: float) -> float:
    """The drawdown the budget spends down to: the promised maximum less a margin for fees and rounding."""
    return max(max_drawdown - margin, 0.0)


def floor_equity(peak: float, max_drawdown: float) -> float:
    """Equity at which the drawdown from the peak reaches the limit: the level the account must stay above."""
    return peak * (1.0 - max_drawdown)


def budget_fraction(equity: float, peak: float, max_drawdown: float) -> float:
    """Equity above the floor as a fraction of equity (max_drawdown at a new peak, 0 at the limit)."""
    if equity <= 0:
        return 0.0
    return max(0.0, 1.0 - floor_equity(max(peak, equity), max_drawdown) / equity)


def bar_sigma(volatility: Array, periods_per_year: float) -> Array:
    """One-bar volatility from annualised volatility; unknown values count as UNKNOWN_BAR_VOL."""
    sigma = volatility / math.sqrt(periods_per_year)
    return np.where(np.isfinite(sigma) & (sigma >= 0), sigma, UNKNOWN_BAR_VOL)


def one_bar_loss(weights: Array, sigma: Array, z: float, gap_allowance: float, exit_cost: float) -> float:
    """Loss (fraction of equity) of a bad bar: every position z sigmas plus a gap against the account at once."""
    return float((np.abs(weights) * (z * sigma + gap_allowance + exit_cost)).sum())


def budget_scale(
    weights: Array, sigma: Array, budget: float, z: float, gap_allowance: float, exit_cost: float
) -> float:
    """Multiplier (at most 1) that brings the target portfolio's bad-bar loss inside the budget."""
    if budget <= 0:
        return 0.0
    loss = one_bar_loss(weights, sigma, z, gap_allowance, exit_cost)
    return 1.0 if loss <= budget else budget / loss


@dataclass(frozen=True, slots=True)
class GuardPlan:
    """The guard's terms for one bar, from the account as it opens.

    keep: fraction of every position kept at the open (1 normally; less when the budget cannot hold a
    gap allowance on the whole book, 0 when the open is already at or past the floor); move: the
    adverse move from the open each surviving position may make before it exits at its level.
    """

    floor: float
    budget: float
    exposure: float
    keep: float
    move: float


def guard_plan(equity: float, exposure: float, floor: float, gap_allowance: float, exit_cost: float) -> GuardPlan:
    """Decide the open-time trim and the intrabar move allowed, for equity and gross exposure marked at the open."""
    budget = equity - floor
    if exposure <= 0:
        return GuardPlan(floor, budget, exposure, 1.0, math.inf)
    if budget <= exit_cost * exposure:
        return GuardPlan(floor, budget, exposure, 0.0, 0.0)
    move = budget / exposure - gap_allowance - exit_cost
    if move > 0:
        return GuardPlan(floor, budget, exposure, 1.0, move)
    # the book is too big for the budget to hold a gap on it: trim at the open so that each remaining
    # position may still move one gap allowance within the bar and keep room for the next gap
    kept = budget / (2.0 * gap_allowance + exit_cost)
    return GuardPlan(floor, budget, exposure, kept / exposure, gap_allowance)


def guard_levels(reference: Array, qty: Array, move: float) -> Array:
    """Price per symbol at which its position exits: `move` below the reference for a long, above for a short."""
    direction = np.sign(qty)
    with np.errstate(invalid="ignore"):
        level = reference * (1.0 - direction * move)
    return np.where((qty != 0) & np.isfinite(reference), np.maximum(level, 0.0), np.nan)


def crossed(levels: Array, qty: Array, low: Array, high: Array) -> Array:
    """Whether each position's bar traded through its level (low for a long, high for a short).

    Comparisons with NaN raise no floating-point warning in numpy, so no `errstate` is entered (it costs more
    than the comparisons at a few hundred symbols)."""
    hit = np.where(qty > 0, low <= levels, np.where(qty < 0, high >= levels, False))
    return np.asarray(hit & np.isfinite(levels), dtype=bool)


def gap_loss(qty: Array, prev_close: Array, open_: Array) -> tuple[float, float]:
    """(loss, exposure) of the positions carried into a bar from its previous close to its open."""
    ok = np.isfinite(prev_close) & np.isfinite(open_) & (qty != 0)
    pnl = float((qty[ok] * (open_[ok] - prev_close[ok])).sum())
    exposure = float(np.abs(qty[ok] * prev_close[ok]).sum())
    return -pnl, exposure
