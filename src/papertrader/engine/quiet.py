"""What a stretch of quiet cycles does to the book and the loss limits, computed over the whole stretch at once.

Sparse stepping (engine/sparse.py) books cycles in which nothing trades. Over such a stretch the positions and
cash are fixed, so each cycle's valuation is the integer sum of shares x close ticks, the loss limits see a known
equity series, and the intrabar drawdown guard reads each bar from a known book. These functions do that reading
for every cycle of the stretch with array operations, and give exactly the numbers the per-cycle code gives
(`Ledger.value_closes`, `RiskEngine.observe`, `DrawdownGuard.quiet`): the same float operations in the same order,
integer sums where the per-cycle code sums Decimals, and a float built from an exact integer the way `float()` of
the Decimal rounds it. Where that cannot be promised (a mark off the 0.0001 grid, cash off it, a guard summing
several positions) they return None and the caller takes the per-cycle path.

A one-symbol stretch is first screened (`RowBounds`, `equity_bounds`, `limits_quiet`, `guard_quiet`): bounds of the
stretch's closes, opens, guard levels and gaps, read in one reduction, prove in a few scalar operations that no limit
fires and the guard does nothing on any cycle; each test is conservative (monotone float operations plus a slack far
above their rounding), so where it passes the array pass would find the stretch quiet, and where it does not the
array pass decides.
"""

from __future__ import annotations

import math
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
from papertrader.risk.drawdown import bar_sigma, budget_limit
from papertrader.risk.limits import DailyLossLimit, DrawdownKillSwitch
from papertrader.risk.sizing import vol_target_scale

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


# ---------------------------------------------------------------------- the one-symbol screen

#: Rows of a one-symbol run whose screen quantities are computed at once (bounded temporaries, few recomputes).
SCREEN_WINDOW = 8192
#: Relative slack of every screen inequality: far above the few-ulp error of the per-cycle float expressions.
SCREEN_SLACK = 1e-7
#: The screen's columns (each reduced by max over a stretch's rows; a minimum is kept as the max of its negation)
_P, _NEG_P, _O, _NEG_O, _LONG_LEVEL, _SHORT_LEVEL, _DROP, _RISE, _SIGMA, _SCALE, _NEG_SCALE = range(11)


@dataclass(frozen=True, slots=True)
class StretchBounds:
    """Bounds over a stretch of one symbol's rows: closes, opens, the guard's level terms, gaps, sigma, scale.

    Every field is an exact max or min of a per-row float; NaN when a row is unusable (a non-finite or non-positive
    price, a close off the 0.0001 grid or past the fixed-point range), which makes every screen test fail.
    """

    p_max: float
    p_min: float
    o_max: float
    o_min: float
    long_level: float  # max of c * open - low (c: gap allowance + exit cost)
    short_level: float  # max of high + c * open
    drop: float  # max of (previous close - open) / previous close
    rise: float  # max of (open - previous close) / previous close
    sigma: float  # max bar sigma (the drawdown budget's)
    scale_max: float
    scale_min: float


class RowBounds:
    """The per-row quantities a one-symbol quiet stretch is screened on, reduced over any stretch of rows.

    Computed for a window of SCREEN_WINDOW rows at a time (stretches move forward through a run, so each row is
    computed about once); a stretch's bounds are one max over a (rows, 11) slice, whatever the stretch's length.
    """

    def __init__(
        self,
        open_: Array,
        low: Array,
        high: Array,
        close: Array,
        volatility: Array,
        periods_per_year: float,
        vol_target: float | None,
        level: float,
    ) -> None:
        self._o, self._lo, self._hi, self._c = open_, low, high, close
        self._vol, self._ppy, self._vol_target, self._level = volatility, periods_per_year, vol_target, level
        self._start = self._stop = 0
        self._cols = np.zeros((0, 11))
        self._ticks = np.zeros(0, dtype=np.int64)
        self._exponent = np.zeros(0, dtype=np.int8)

    def _load(self, start: int, stop: int) -> None:
        stop = min(len(self._c), max(stop, start + SCREEN_WINDOW))
        rows = slice(start, stop)
        c, o, lo, hi = self._c[rows], self._o[rows], self._lo[rows], self._hi[rows]
        prev = self._c[start - 1 : stop - 1] if start > 0 else np.concatenate([[np.nan], self._c[: stop - 1]])
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            ticks = np.rint(c * TICKS_PER_UNIT)
            good = (c > 0) & (c < _MAX_MARK) & (ticks / TICKS_PER_UNIT == c)
            good &= (o > 0) & (lo > 0) & (hi > 0) & np.isfinite(o) & np.isfinite(lo) & np.isfinite(hi)
            p = np.where(good, c, np.nan)
            drop = (prev - o) / prev
            cols = np.empty((stop - start, 11))
            cols[:, _P], cols[:, _NEG_P] = p, -p
            cols[:, _O], cols[:, _NEG_O] = o, -o
            cols[:, _LONG_LEVEL] = self._level * o - lo
            cols[:, _SHORT_LEVEL] = hi + self._level * o
            cols[:, _DROP], cols[:, _RISE] = drop, -drop
            vol = self._vol[rows]
            cols[:, _SIGMA] = bar_sigma(vol, self._ppy)  # the drawdown budget's, as the plan computes it
            scale = np.ones(len(vol)) if self._vol_target is None else vol_target_scale(vol, self._vol_target)
            cols[:, _SCALE], cols[:, _NEG_SCALE] = scale, -scale
        whole = np.where(good, ticks, 0.0).astype(np.int64)
        rest = whole % 1000  # as fixed_marks: a mark's decimals are those of its tick count
        digits = np.where(rest == 0, -1, np.where(rest % 10 != 0, -4, np.where(rest % 100 != 0, -3, -2)))
        self._start, self._stop = start, stop
        self._cols, self._ticks, self._exponent = cols, whole, digits.astype(np.int8)

    def _rows(self, start: int, stop: int) -> slice:
        if not (self._start <= start and stop <= self._stop):
            self._load(start, stop)
        return slice(start - self._start, stop - self._start)

    def bounds(self, start: int, stop: int) -> StretchBounds:
        """The bounds over rows start..stop-1 (NaN where a row is unusable)."""
        rows = self._rows(start, stop)  # (re)loads the window first: the columns are read after
        m = self._cols[rows].max(axis=0).tolist()
        return StretchBounds(
            m[_P], -m[_NEG_P], m[_O], -m[_NEG_O], m[_LONG_LEVEL], m[_SHORT_LEVEL], m[_DROP], m[_RISE], m[_SIGMA],
            m[_SCALE], -m[_NEG_SCALE],
        )  # fmt: skip

    def equity(self, qty: int, base: int, k: int) -> float:
        """Row k's float(equity) for qty shares and `base` cash ticks (row k loaded, its close on the grid), as
        `FixedMarks.equity` gives it."""
        return float(qty * int(self._ticks[k - self._start]) + base) / float(TICKS_PER_UNIT)

    def marks(self, cash: Decimal, base: int, qty: int, start: int, stop: int) -> FixedMarks:
        """`fixed_marks(cash, [qty], closes[start:stop])` for rows the screen passed (every close on the grid)."""
        rows = self._rows(start, stop)
        if qty == 0:
            return FixedMarks(cash, base, stop - start)
        return FixedMarks(cash, base, stop - start, self._ticks[rows] * qty, None, self._exponent[rows].copy())


def slack_of(*magnitudes: float) -> float:
    """The margin a screen inequality keeps: SCREEN_SLACK of the largest magnitude in it (plus an absolute bit)."""
    return SCREEN_SLACK * max(1.0, max(map(abs, magnitudes))) + 1e-12


def equity_bounds(qty: int, base: int, b: StretchBounds) -> tuple[float, float] | None:
    """(min, max) of float(equity) over a one-symbol stretch with qty shares and `base` cash ticks, as
    `FixedMarks.equity` computes each cycle's, or None when the stretch cannot take the fixed-point path.

    Each close on the grid is ticks / 10**4 with ticks = rint(close * 10**4), monotone in the close, and an equity
    is the exact integer qty * ticks + base (below 2**53) divided by 10**4, monotone in it: the extremes are those
    of the extreme closes.
    """
    if not (b.p_min > 0 and b.p_max < _MAX_MARK):  # NaN (an unusable row) fails too
        return None
    low, high = round(b.p_min * TICKS_PER_UNIT), round(b.p_max * TICKS_PER_UNIT)  # half to even, as np.rint
    if abs(qty) * high + abs(base) >= _EXACT_FLOAT:
        return None
    at_low = float(qty * low + base) / float(TICKS_PER_UNIT)
    at_high = float(qty * high + base) / float(TICKS_PER_UNIT)
    return min(at_low, at_high), max(at_low, at_high)


def limits_quiet(
    kill_switch: DrawdownKillSwitch, daily: DailyLossLimit, eq_lo: float, eq_hi: float, peak_max: float
) -> bool:
    """True only when `observe_span` over any equity series within [eq_lo, eq_hi] fires neither limit.

    Proof: every equity e >= eq_lo > 0; every running peak p satisfies 0 < p <= peak_max = max(peak before,
    eq_hi); every session start s the daily limit uses is the start carried in, the last equity carried in, or an
    equity of the stretch, so s <= the max of those three. Correctly rounded division and subtraction are monotone,
    so fl(fl(e / p) - 1) >= fl(fl(eq_lo / peak_max) - 1) and likewise for s: when those bounds are not below
    -threshold (-limit) neither limit fires on any cycle (the kept slack only makes the test stricter).
    """
    if not (eq_lo > 0 and eq_hi >= eq_lo and math.isfinite(peak_max)):
        return False
    if kill_switch.fired_at_drawdown is None and not (eq_lo / peak_max - 1.0 > -kill_switch.threshold + 1e-12):
        return False
    start_max = max(daily.start_equity, daily.last_equity, eq_hi)
    if not math.isfinite(start_max):
        return False
    return start_max <= 0 or eq_lo / start_max - 1.0 > -daily.limit + 1e-12


def guard_quiet(
    settings: RiskSettings, exit_cost: float, qty: int, cash: float, peak_max: float, b: StretchBounds
) -> bool:
    """True only when `guard_quiet_span` is True on every bar of a one-symbol stretch with qty shares held.

    With floor F = peak * (1 - L) <= F_max (peak <= peak_max, 1 - L >= 0) and D = cash - F_max, a long (q > 0)
    bar is quiet when (i) the open is not a gap: (prev close - open) / prev close < gap allowance g; (ii) the plan
    keeps the whole book and allows a positive move: move = (cash + q o - F) / (q o) - g - x >= 1 - (g + x) +
    D / (q o) > 0 (x: exit cost); and (iii) the low stays above the exit level o (1 - move) = (g + x) o +
    (F - cash) / q <= (g + x) o - D / q, i.e. min(low - (g + x) o) > -D / q. A short mirrors it with the high and
    level o (1 + move) >= D / |q| - (g + x) o. Each test keeps a slack of SCREEN_SLACK of the magnitudes involved,
    orders above the few-ulp error of the guard's float expressions, so rounding cannot make it wrong.
    """
    if qty == 0:
        return True
    s = settings
    g, c = s.gap_allowance, s.gap_allowance + exit_cost
    f_max = peak_max * (1.0 - budget_limit(s.max_drawdown, s.budget_margin))
    if not (b.o_min > 0 and math.isfinite(b.o_max) and math.isfinite(f_max) and f_max >= 0):
        return False
    d = cash - f_max
    size = abs(float(qty))
    scale = (abs(cash) + size * b.o_max + f_max) / size
    if qty > 0:
        if not b.drop < g * (1.0 - SCREEN_SLACK) - 1e-12:
            return False
        move = 1.0 - c + d / (size * (b.o_max if d >= 0 else b.o_min))
        if not move > slack_of(scale / b.o_min, c):
            return False
        return -b.long_level > -d / size + slack_of(b.long_level, scale, b.o_max)
    if not b.rise < g * (1.0 - SCREEN_SLACK) - 1e-12:
        return False
    move = d / (size * (b.o_max if d >= 0 else b.o_min)) - 1.0 - c
    if not move > slack_of(scale / b.o_min, c):
        return False
    return b.short_level < d / size - slack_of(b.short_level, scale, b.o_max)
