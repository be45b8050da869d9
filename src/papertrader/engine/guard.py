"""The intrabar drawdown guard: positions exit inside a bar at the level that keeps the drawdown promise.

Without it the kill switch sees equity only at a bar's close and flattens at the next open, so the loss
it promised to stop has already happened. The guard works in two steps around the broker's bar:

* `before` (at the bar's open, before any fill): marks the book the account will hold once the orders
  decided at the last close fill (held + pending) at the open, checks the overnight gap of the positions
  carried in, and asks `risk.drawdown.guard_plan` for the terms: keep everything (the usual case), trim
  at the open, or exit everything at the open when the gap already took the account to the floor. Each
  position's exit level is `move` from the open. A protective stop that sits beyond a level the bar
  reaches is withdrawn first, so the guard's better exit is the one that happens.
* `after` (once the broker's fills are booked): trims at the open price, then exits every position whose
  bar traded through its level, at the level (conservative: the level is taken as reached before any
  recovery within the bar), or at the open when the bar opened beyond it.

A gap against the carried positions larger than `gap_allowance` of their value is reported as
`risk.gap_through`: it is the one way the account can end a bar past its floor. Exits are
`risk.drawdown_exit` events with their cause (gap, trim or intrabar).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from papertrader.config.settings import RiskSettings
from papertrader.core.arrays import Array, BoolArray
from papertrader.domain.events import DrawdownExited, GapThrough
from papertrader.domain.types import Order, OrderType, Side, TimeInForce
from papertrader.engine.protection import is_protective
from papertrader.execution.broker import BarSlice, BrokerReport, PaperBroker
from papertrader.risk.drawdown import GuardPlan, budget_limit, crossed, floor_equity, guard_plan

GAP_EVENT, EXIT_EVENT = GapThrough.KIND, DrawdownExited.KIND
GUARD_LEG, GUARD_OPEN_LEG = "dd", "ddo"  # an exit at a level inside the bar; a trim or exit at the open


def is_guard_exit(order_id: str) -> bool:
    """True for the ids of the guard's exits (run:cycle:dd[o]:symbol, the cycle being the bar it fills in)."""
    parts = order_id.rsplit(":", 2)
    return len(parts) == 3 and parts[1] in (GUARD_LEG, GUARD_OPEN_LEG)


@dataclass(frozen=True, slots=True)
class GuardBar:
    """What `before` decided for one bar: the plan, each symbol's exit level, and the gap cause if any."""

    plan: GuardPlan
    levels: Array
    gap: bool


@dataclass(frozen=True, slots=True)
class _Assessment:
    """The guard's reading of one bar before anything is done about it."""

    book: Array
    loss: float
    carried: float
    gap: bool
    plan: GuardPlan
    levels: Array
    hit: BoolArray | None  # None when the caller did not ask (no protective stop is working to compare with)


#: `ndarray.sum` and a nonzero test without numpy's Python-level wrappers (the same reductions, the same bits)
_total = np.add.reduce
_any = np.logical_or.reduce


class DrawdownGuard:
    """Applies the drawdown floor inside bars for one run (stateless between bars)."""

    def __init__(self, run_id: str, symbols: Sequence[str], settings: RiskSettings) -> None:
        self.run_id = run_id
        self.symbols = tuple(symbols)
        self.settings = settings
        self.exit_cost = settings.exit_cost_bps / 1e4
        self._index = {symbol: i for i, symbol in enumerate(self.symbols)}

    def before(
        self,
        bar: BarSlice,
        peak: float,
        cash: float,
        held: Array,
        pending: Array,
        last_close: Array,
        broker: PaperBroker,
        report: BrokerReport,
    ) -> GuardBar | None:
        """Terms for this bar from the open; withdraws protective stops it beats. None: nothing held or ordered."""
        protective = broker.select(is_protective)
        a = self._assess(bar.open, bar.low, bar.high, peak, cash, held, pending, last_close, hits=bool(protective))
        if a is None:
            return None
        at = bar.open_time
        if a.gap:
            report.events.append(
                GapThrough(
                    at,
                    loss=a.loss,
                    exposure=a.carried,
                    gap=a.loss / a.carried,
                    allowance=self.settings.gap_allowance,
                    symbols=_gaps(self.symbols, held, last_close, bar.open),
                )
            )
        hit = a.hit
        first = {
            o.symbol
            for o in protective
            if hit is not None and hit[self._index[o.symbol]] and _beyond(o, a.levels, a.book, self._index)
        }
        for order in protective:
            if order.symbol in first:  # the whole OCO pair goes: the guard exits the position before its stop
                broker.cancel(order.id, at, "drawdown guard exits first", report)
        return GuardBar(a.plan, a.levels, a.gap)

    def quiet(
        self, open_: Array, low: Array, high: Array, peak: float, cash: float, held: Array, last_close: Array
    ) -> bool:
        """True when, with nothing but protective legs working, `before` and `after` would do nothing in this bar:
        no gap past the allowance, no trim, no level the bar's range crosses (sparse stepping skips such bars)."""
        a = self._assess(open_, low, high, peak, cash, held, np.zeros_like(held), last_close)
        return a is None or (not a.gap and not bool(a.hit is not None and a.hit.any()))

    def _assess(
        self,
        open_: Array,
        low: Array,
        high: Array,
        peak: float,
        cash: float,
        held: Array,
        pending: Array,
        last_close: Array,
        hits: bool = True,
    ) -> _Assessment | None:
        """The guard's reading of a bar from its open: the gap, the plan, each exit level and (hits) which the bar
        hits; `before` asks for the hits only when a protective stop is working, since only they read them."""
        if len(self.symbols) == 1:
            return self._assess_one(open_, low, high, peak, cash, held, pending, last_close)
        s = self.settings
        book = held + pending
        # the positions carried in take the overnight gap even when orders filling at this open close them all
        # (book empty): the gap is still judged, so a loss it causes past the floor is reported as its cause
        if peak <= 0 or not (_any(book) or _any(held)):
            return None
        # the operations of gap_loss, guard_levels and crossed (risk/drawdown.py), on the same arrays in the
        # same order, with each mask computed once (the quiet-span check and the tests hold them together)
        open_ok = np.isfinite(open_)
        close_ok = np.isfinite(last_close)
        ok = close_ok & open_ok & (held != 0)
        carried_qty, prev = held[ok], last_close[ok]
        loss = -float(_total(carried_qty * (open_[ok] - prev)))
        carried = float(_total(np.abs(carried_qty * prev)))
        gap = carried > 0 and loss > s.gap_allowance * carried * (1 + 1e-9)
        reference = np.where(open_ok, open_, last_close)
        reference_ok = open_ok | close_ok  # np.isfinite(reference)
        marked = np.where(reference_ok, reference, 0.0)
        equity = cash + float(_total(held * marked))  # the open fills only swap cash for shares (costs aside)
        exposure = float(_total(np.abs(book * marked)))
        plan = guard_plan(
            equity,
            exposure,
            floor_equity(peak, budget_limit(s.max_drawdown, s.budget_margin)),
            s.gap_allowance,
            self.exit_cost,
        )
        in_book = book != 0
        with np.errstate(invalid="ignore"):
            level = reference * (1.0 - np.sign(book) * plan.move)
            levels = np.where(in_book & reference_ok, np.maximum(level, 0.0), np.nan)
            if not hits:
                return _Assessment(book, loss, carried, bool(gap), plan, levels, None)
            hit = np.where(book > 0, low <= levels, np.where(book < 0, high >= levels, False)) & np.isfinite(levels)
        if plan.keep < 1.0:
            hit |= in_book
        return _Assessment(book, loss, carried, bool(gap), plan, levels, hit)

    def _assess_one(
        self,
        open_: Array,
        low: Array,
        high: Array,
        peak: float,
        cash: float,
        held: Array,
        pending: Array,
        last_close: Array,
    ) -> _Assessment | None:
        """`_assess` for a one-symbol universe in plain floats: numpy's per-call cost dominates there.

        Each step is the array path's IEEE operation on the one element (a sum of one element is that element,
        an empty one 0.0, and `np.maximum(x, 0.0)` keeps x only when x > 0 or x is NaN), so the floats and
        masks are identical; tests/unit/engine/test_guard_assess.py holds the two together.
        """
        s = self.settings
        h, b = float(held[0]), float(held[0] + pending[0])
        if peak <= 0 or not (b != 0 or h != 0):
            return None
        o, c, lo, hi = float(open_[0]), float(last_close[0]), float(low[0]), float(high[0])
        open_ok, close_ok = math.isfinite(o), math.isfinite(c)
        if close_ok and open_ok and h != 0:
            loss, carried = -(h * (o - c)), abs(h * c)
        else:
            loss, carried = -0.0, 0.0
        gap = carried > 0 and loss > s.gap_allowance * carried * (1 + 1e-9)
        reference = o if open_ok else c
        reference_ok = open_ok or close_ok
        marked = reference if reference_ok else 0.0
        plan = guard_plan(
            cash + h * marked,
            abs(b * marked),
            floor_equity(peak, budget_limit(s.max_drawdown, s.budget_margin)),
            s.gap_allowance,
            self.exit_cost,
        )
        level = math.nan
        if b != 0 and reference_ok:
            direction = 1.0 if b > 0 else -1.0 if b < 0 else b  # np.sign (NaN stays NaN)
            level = reference * (1.0 - direction * plan.move)
            level = level if level > 0.0 or level != level else 0.0
        hit = math.isfinite(level) and (lo <= level if b > 0 else hi >= level if b < 0 else False)
        hit = hit or (plan.keep < 1.0 and b != 0)
        return _Assessment(np.array([b]), loss, carried, gap, plan, np.array([level]), np.array([hit]))

    def after(
        self, k: int, bar: BarSlice, terms: GuardBar, held: Array, broker: PaperBroker, report: BrokerReport
    ) -> None:
        """Trim at the open and exit at the levels the bar traded through; fills land in `report`."""
        plan = terms.plan
        left = held.copy()
        cause = "gap" if terms.gap else "trim"
        if plan.keep < 1.0:
            for i in (left != 0).nonzero()[0]:
                if np.isfinite(bar.open[i]):
                    keep = int(np.trunc(left[i] * plan.keep))
                    self._exit(k, int(i), int(left[i] - keep), float(bar.open[i]), cause, plan, bar, broker, report)
                    left[i] = keep
        if len(self.symbols) == 1:  # `crossed` for the one symbol in floats (numpy's call cost dominates)
            q, level = float(left[0]), float(terms.levels[0])
            reached = (q > 0 and float(bar.low[0]) <= level) or (q < 0 and float(bar.high[0]) >= level)
            hits = [0] if reached and math.isfinite(level) else []
        else:
            hits = crossed(terms.levels, left, bar.low, bar.high).nonzero()[0].tolist()
        for i in hits:
            # a bar that opened beyond the level fills at the open, never better than the market gave
            if left[i] > 0:
                price = min(float(terms.levels[i]), float(bar.open[i]))
            else:
                price = max(float(terms.levels[i]), float(bar.open[i]))
            self._exit(k, int(i), int(left[i]), price, "intrabar", plan, bar, broker, report)

    def _exit(
        self,
        k: int,
        i: int,
        qty: int,
        price: float,
        cause: str,
        plan: GuardPlan,
        bar: BarSlice,
        broker: PaperBroker,
        report: BrokerReport,
    ) -> None:
        if qty == 0:
            return
        symbol = self.symbols[i]
        order = Order(
            f"{self.run_id}:{k:08d}:{GUARD_LEG if cause == 'intrabar' else GUARD_OPEN_LEG}:{symbol}",
            symbol,
            Side.SELL if qty > 0 else Side.BUY,
            abs(qty),
            OrderType.MARKET,
            bar.open_time,
            tif=TimeInForce.DAY,
            tag="drawdown",
        )
        fill = broker.fill_now(order, price, bar.open_time, report)
        report.events.append(
            DrawdownExited(
                bar.open_time,
                symbol=symbol,
                cause=cause,
                qty=qty,
                level=price,
                price=fill.price,
                floor=plan.floor,
                budget=plan.budget,
                move=plan.move,
            )
        )


def _beyond(order: Order, levels: Array, book: Array, index: dict[str, int]) -> bool:
    """A protective stop that would fill only after the guard's level was crossed (worse than the level)."""
    stop = order.stop_price
    if order.type is not OrderType.STOP or stop is None:
        return False
    i = index[order.symbol]
    if not np.isfinite(levels[i]):
        return False
    level = float(levels[i])
    return float(stop) < level if book[i] > 0 else float(stop) > level


def _gaps(symbols: Sequence[str], held: Array, last_close: Array, open_: Array) -> dict[str, float]:
    """Open-vs-close move of each carried position that moved against it."""
    out: dict[str, float] = {}
    for i in np.flatnonzero(held != 0):
        if np.isfinite(last_close[i]) and np.isfinite(open_[i]) and last_close[i] > 0:
            move = float(open_[i] / last_close[i] - 1.0)
            if move * np.sign(held[i]) < 0:
                out[symbols[int(i)]] = move
    return out
