"""What a stretch of quiet cycles does to the book and the loss limits, computed over the whole stretch at once.

Sparse stepping (engine/sparse.py) books cycles in which nothing trades. Over such a stretch the positions and
cash are fixed, so each cycle's valuation is the integer sum of shares x close ticks, the loss limits see a known
equity series, and the intrabar drawdown guard reads each bar from a known book. These functions do that reading
for every cycle of the stretch with array operations, and give exactly the numbers the per-cycle code gives
(`Ledger.value_closes`, `RiskEngine.observe`, `DrawdownGuard.quiet`): the same float operations in the same order,
integer sums where the per-cycle code sums Decimals, and a float built from an exact integer the way `float()` of
the Decimal rounds it. Where that cannot be promised (a mark off the 0.0001 grid, cash off it, a guard summing
several positions) they return None and the caller takes the per-cycle path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from papertrader.config.settings import RiskSettings
from papertrader.core.arrays import Array, BoolArray, IntArray
from papertrader.portfolio.ledger import TICKS_PER_UNIT, ZERO, Valuation, from_ticks
from papertrader.risk.drawdown import budget_limit
from papertrader.risk.limits import DailyLossLimit, DrawdownKillSwitch

#: Largest |mark| taken on the fixed-point path (as `portfolio.ledger`: a float's shortest repr keeps the grid)
_MAX_MARK = 1e9
#: Integers up to this convert to float exactly, so ticks / 10**4 is the correctly rounded quotient
_EXACT_FLOAT = 2**53
_INT64_ROOM = 2**62


@dataclass(frozen=True, slots=True)
class FixedMarks:
    """Each cycle's market value and gross exposure in 0.0001 ticks and the Decimal exponent, for a fixed cash.

    Kept compact for a run's outcomes: a flat book stores nothing per cycle (market None), and a gross exposure
    equal to |market value| (a book all long or all short) is not stored twice (gross None).
    """

    cash: Decimal
    base: int  # cash in ticks
    size: int
    market: IntArray | None = None
    gross: IntArray | None = None
    exponent: npt.NDArray[np.int8] | None = None

    def valuation(self, r: int) -> Valuation:
        """The `Valuation` `Ledger.value_closes` gives for cycle r of the stretch, digit for digit."""
        if self.market is None or self.exponent is None:
            return Valuation(self.cash, ZERO, ZERO)
        exponent = int(self.exponent[r])
        market = int(self.market[r])
        gross = abs(market) if self.gross is None else int(self.gross[r])
        return Valuation(self.cash, from_ticks(market, exponent), from_ticks(gross, exponent))

    def __len__(self) -> int:
        return self.size

    @property
    def equity(self) -> Array:
        """float(equity) of each cycle: the exact tick count / 10**4, correctly rounded as float() of the Decimal."""
        if self.market is None:
            return np.full(self.size, float(self.cash))
        return np.asarray((self.market + self.base) / float(TICKS_PER_UNIT), dtype=np.float64)

    def gross_floats(self) -> Array:
        """float(gross_exposure) of each cycle."""
        if self.market is None:
            return np.zeros(self.size)
        gross = np.abs(self.market) if self.gross is None else self.gross
        return np.asarray(gross / float(TICKS_PER_UNIT), dtype=np.float64)

    def head(self, n: int) -> FixedMarks:
        """The first n cycles, in arrays of their own (a longer stretch's arrays are not kept alive)."""
        if n >= self.size:
            return self

        def cut(a: npt.NDArray[Any] | None) -> Any:
            return None if a is None else a[:n].copy()

        return FixedMarks(self.cash, self.base, n, cut(self.market), cut(self.gross), cut(self.exponent))


def cash_ticks(cash: Decimal) -> int | None:
    """Cash as an exact count of 0.0001 ticks, or None when it has finer digits (a dividend's) or is not finite."""
    if not cash.is_finite():
        return None
    scaled = cash.scaleb(4)
    whole = int(scaled)
    return whole if scaled == whole else None


def fixed_marks(cash: Decimal, held: IntArray, closes: Array) -> FixedMarks | None:
    """Valuations of a fixed book at each row of closes (rows: cycles, columns: symbols), or None when any row
    would leave `Ledger.value_closes`'s fixed-point path or the float of an equity would not be exact.

    held: shares per symbol (int64). The equity float is cash + market value, as float() of the Decimal sum gives it.
    """
    base = cash_ticks(cash)
    if base is None or abs(base) >= _EXACT_FLOAT:
        return None
    m = len(closes)
    idx = np.flatnonzero(held)
    if idx.size == 0:
        return FixedMarks(cash, base, m)
    px = closes[:, idx]
    with np.errstate(invalid="ignore"):
        if not (np.isfinite(px).all() and (px > 0).all() and (px < _MAX_MARK).all()):
            return None
        ticks = np.rint(px * TICKS_PER_UNIT)
        if not (ticks / TICKS_PER_UNIT == px).all():
            return None
    whole = ticks.astype(np.int64)
    qty = held[idx].astype(np.int64)
    if int(np.abs(qty).max()) * int(whole.max()) >= _INT64_ROOM // max(1, idx.size):
        return None
    if idx.size == 1:
        market = whole[:, 0] * qty[0]
        gross = None
    else:
        worth = whole * qty[None, :]
        market = worth.sum(axis=1)
        gross = None if (qty > 0).all() or (qty < 0).all() else np.abs(worth).sum(axis=1)
    if int(np.abs(market).max()) + abs(base) >= _EXACT_FLOAT:
        return None
    rest = whole % 1000  # on the grid, a mark's decimals are those of its tick count (repr keeps at least one)
    digits = np.where(rest == 0, -1, np.where(rest % 10 != 0, -4, np.where(rest % 100 != 0, -3, -2)))
    exponent = digits.min(axis=1).astype(np.int8)
    return FixedMarks(cash, base, m, market, gross, exponent)


@dataclass(frozen=True, slots=True)
class LimitsSpan:
    """The loss limits over a stretch: how many cycles pass before one fires, the peaks and the state after them."""

    quiet: int
    peaks: Array
    kill_switch: DrawdownKillSwitch
    daily: DailyLossLimit


def observe_span(
    kill_switch: DrawdownKillSwitch,
    daily: DailyLossLimit,
    equity: Array,
    day: npt.NDArray[np.integer[Any]],
    dates: Sequence[date],
) -> LimitsSpan:
    """`RiskEngine.observe` of each equity in order, up to (not including) the first cycle on which the kill switch
    or the daily loss limit fires; the limits given are not changed (the state after is on copies).

    day: per cycle, the index of its session date in `dates` (a new index exactly when the session changes).
    peaks[r]: the kill switch's peak after cycle r.
    """
    m = len(equity)
    if m == 0:
        return LimitsSpan(0, np.zeros(0), _copy_kill(kill_switch), _copy_daily(daily))
    peaks = np.maximum.accumulate(np.maximum(equity, kill_switch.peak))
    with np.errstate(divide="ignore", invalid="ignore"):
        fires = (
            (peaks > 0) & (equity / peaks - 1.0 < -kill_switch.threshold)
            if kill_switch.fired_at_drawdown is None
            else np.zeros(m, dtype=bool)
        )
        # the daily limit: a session starts from the last equity seen before it (or its own first one)
        opens = np.flatnonzero(day[1:] != day[:-1]) + 1
        if dates[int(day[0])] != daily.session:
            opens = np.concatenate([[0], opens])
        carried = len(opens) == 0 or opens[0] > 0  # the first cycles continue the session the limit is in
        if len(opens):
            last = np.where(opens > 0, equity[np.maximum(opens - 1, 0)], daily.last_equity)
            first = np.where(last > 0, last, equity[opens])
            lengths = np.diff(np.concatenate([opens, [m]]))
            start = np.repeat(first, lengths)
            if carried:
                start = np.concatenate([np.full(int(opens[0]), daily.start_equity), start])
        else:
            start = np.full(m, daily.start_equity)
        armed = np.ones(m, dtype=bool)
        if carried and daily.hit_at_loss is not None:  # hit already this session: silent until the next one
            armed[: int(opens[0]) if len(opens) else m] = False
        fires |= armed & (start > 0) & (equity / start - 1.0 < -daily.limit)
    quiet = int(np.argmax(fires)) if fires.any() else m
    kill = _copy_kill(kill_switch)
    limit = _copy_daily(daily)
    if quiet:
        last_r = quiet - 1
        kill.peak = float(peaks[last_r])
        if len(opens) and opens[0] <= last_r:  # a session began inside the stretch: the limit is in the last one
            limit.session = dates[int(day[last_r])]
            limit.start_equity = float(start[last_r])
            limit.hit_at_loss = None
        limit.last_equity = float(equity[last_r])
    return LimitsSpan(quiet, peaks[:quiet], kill, limit)


def guard_quiet_span(
    settings: RiskSettings,
    exit_cost: float,
    open_: Array,
    low: Array,
    high: Array,
    peaks_before: Array,
    cash: float,
    held: Array,
    before: Array,
) -> BoolArray | None:
    """`DrawdownGuard.quiet` for each bar of a stretch with a fixed book (rows: bars), or None when the book holds
    more than one position (the guard sums over positions, and a sum of several floats is order dependent).

    before: the last close per symbol before each bar; peaks_before: the kill switch's peak before each bar.
    """
    m = len(open_)
    idx = np.flatnonzero(held)
    if idx.size == 0:
        return np.ones(m, dtype=bool)
    if idx.size > 1:
        return None
    j = int(idx[0])
    q = float(held[j])
    o, lo, hi, b = open_[:, j], low[:, j], high[:, j], before[:, j]
    s = settings
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ok = np.isfinite(b) & np.isfinite(o)
        loss = np.where(ok, -(q * (o - b)), 0.0)
        carried = np.where(ok, np.abs(q * b), 0.0)
        gap = (carried > 0) & (loss > s.gap_allowance * carried * (1 + 1e-9))
        reference = np.where(np.isfinite(o), o, b)
        marked = np.where(np.isfinite(reference), reference, 0.0)
        equity = cash + q * marked
        exposure = np.abs(q * marked)
        floor = peaks_before * (1.0 - budget_limit(s.max_drawdown, s.budget_margin))
        budget = equity - floor
        none = exposure <= 0
        out = ~none & (budget <= exit_cost * exposure)
        move = budget / exposure - s.gap_allowance - exit_cost
        trim = ~none & ~out & ~(move > 0)
        kept = budget / (2.0 * s.gap_allowance + exit_cost)
        keep = np.where(none, 1.0, np.where(out, 0.0, np.where(trim, kept / exposure, 1.0)))
        move = np.where(none, np.inf, np.where(out, 0.0, np.where(trim, s.gap_allowance, move)))
        level = reference * (1.0 - np.sign(q) * move)
        level = np.where(np.isfinite(reference), np.maximum(level, 0.0), np.nan)
        crossed = (lo <= level) if q > 0 else (hi >= level)
        hit = (crossed & np.isfinite(level)) | (keep < 1.0)
    return np.asarray((peaks_before <= 0) | (~gap & ~hit), dtype=bool)


def budget_fractions(equity: Array, peaks: Array, max_drawdown: float) -> Array:
    """`risk.drawdown.budget_fraction` of each (equity, peak) pair, with the same float operations."""
    with np.errstate(divide="ignore", invalid="ignore"):
        floor = np.maximum(peaks, equity) * (1.0 - max_drawdown)
        return np.where(equity > 0, np.maximum(0.0, 1.0 - floor / equity), 0.0)


def _copy_kill(k: DrawdownKillSwitch) -> DrawdownKillSwitch:
    return DrawdownKillSwitch(k.threshold, k.peak, k.fired_at_drawdown)


def _copy_daily(d: DailyLossLimit) -> DailyLossLimit:
    return DailyLossLimit(d.limit, d.session, d.start_equity, d.last_equity, d.hit_at_loss)
