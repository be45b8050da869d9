"""PaperBroker: works orders against bars it has not yet shown the strategy, with explicit costs.

The rule that keeps results honest: an order only ever fills on a bar whose open is at or after the
moment the order was created plus the configured latency. A market order decided at the close of bar t
therefore fills at the open of bar t+1 (plus half the spread, slippage and impact), and a limit order
fills only when a later bar trades through its price. The price rules inside a bar are in
`papertrader.execution.fills`; the costs in `papertrader.execution.fees`.

Order types: market, limit, stop, stop-limit, and brackets (an entry plus a stop-loss and a take-profit
child that share an OCO group). Time in force DAY (works in one exchange session: the one in progress
when the order becomes live, or the next one if the market is closed then) or GTC.

Cancel/replace is cancel + new: `replace` cancels the old order (reason "replaced by NEW") and submits
a successor whose `replaces` field holds the old id, created at the replace time (so latency and the
DAY session start again). A bracket's dormant children follow their entry to the successor; once the
entry has filled in part its children stay with it, protecting what it bought (the successor's own fills
are then not bracketed).

Brackets: the children are accepted with the entry but work only after it fills: on the entry's first
fill they are resized to the shares filled and become live from the NEXT bar (what happened inside the
fill bar after the entry is unknown); each further entry fill grows them. A fill of one child reduces
its OCO siblings by the same quantity and cancels them when nothing is left; when every exit is done an
entry still working is cancelled. An entry cancelled, expired or rejected before any fill cancels its
children; one that filled in part leaves them protecting what it bought.

Never filled: bars before the order is live, bars where the symbol did not trade (NaN), halted symbols
(a configured halt, `halt()`, or a bar with zero volume) and bars outside the exchange's regular
session (XNYS for US symbols, XTSE for .TO/.V) unless the order or the settings allow extended hours.

Speed without approximation: a bar's plain market orders (alone in their symbol, no fill yet, no bracket or
OCO link) are priced, capped and charged in one step in exact integer fixed point (`execution.fixedpoint`),
digit for digit what the per-order Decimal path gives; everything else takes that path (`vectorised = False`
forces it for every order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np

from papertrader.config.settings import CostSettings
from papertrader.core.arrays import Array
from papertrader.domain.calendars import exchange_for, in_extended_hours, in_regular_session, live_session
from papertrader.domain.events import DomainEvent, order_transition
from papertrader.domain.sessions import session_date
from papertrader.domain.types import Fill, Order, OrderStatus, OrderType, Side, TimeInForce
from papertrader.execution.fees import CENT, affordable_qty, fill_fee, to_decimal
from papertrader.execution.fills import (
    Match,
    adverse_choice,
    cost_price,
    match_order,
    sqrt_impact_bps,
    volume_capacity,
)
from papertrader.execution.fixedpoint import (
    FeeSchedule,
    MarketPricer,
    fee_decimal,
    grid_tick,
    grid_ticks,
    price_decimal,
)
from papertrader.execution.market import MarketInputs, QuoteSlice, TrailingWindow

ZERO = Decimal(0)
#: a plain market order in the broker's columnar lane: (is a buy, created at, id, symbol index, qty, tag)
_Plain = tuple[bool, datetime, str, int, int, str]
#: books with fewer plain market orders than this are matched in Python ints (numpy's call cost would dominate)
ARRAY_MIN = 12


@dataclass(frozen=True, slots=True)
class BarSlice:
    """One cycle's bars for the whole universe; NaN where a symbol did not trade."""

    k: int
    open_time: datetime
    close_time: datetime
    open: Array
    high: Array
    low: Array
    close: Array
    volume: Array


@dataclass(slots=True)
class BrokerReport:
    """What one call changed: fills to book, the new state of each touched order, and the events."""

    fills: list[Fill] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)
    #: False: the caller neither records nor publishes, so the transition events are not built, nor the final
    #: state of an order the array step fills in full (`orders` is then incomplete: only a recorder reads it)
    transitions: bool = True

    def order_event(self, order: Order, at: datetime, kind: str | None = None) -> None:
        """Record an order's transition as both its new state and an event with the reason."""
        self.orders.append(order)
        if not self.transitions:
            return
        self.events.append(
            order_transition(
                kind or f"order.{order.status.value}",
                at,
                order_id=order.id,
                symbol=order.symbol,
                side=order.side,
                qty=order.qty,
                type=order.type,
                filled_qty=order.filled_qty,
                reason=order.reason,
            )
        )


class PaperBroker:
    """Simulated broker for a fixed universe; a cash account (no borrowing to buy)."""

    def __init__(self, symbols: Sequence[str], costs: CostSettings, fill_seq: int = 0) -> None:
        self._index = {s: i for i, s in enumerate(symbols)}
        self._symbols = tuple(symbols)
        self._exchange = {s: exchange_for(s) for s in symbols}
        self._costs = costs
        self._exec = costs.execution
        self._latency = timedelta(milliseconds=self._exec.latency_ms)
        self._working: dict[str, Order] = {}
        self._live: dict[str, date] = {}
        self._sessions: dict[tuple[str, datetime, bool], date] = {}
        self._active_from: dict[str, datetime] = {}
        self._halted: set[str] = set(self._exec.halted_symbols)
        self._fill_seq = fill_seq
        self._window = TrailingWindow(self._exec.market_window) if self._exec.market_window > 0 else None
        self._market: MarketInputs | None = None
        self._market_known = True
        # the vectorised market-order step (`_market_step`): fixed costs as integer schedules, or None for Decimal
        self._fees = FeeSchedule.for_costs(costs)
        self._pricer = MarketPricer.for_costs(to_decimal(costs.slippage_bps) + to_decimal(costs.spread_bps) / 2)
        self.vectorised = True  # False forces the per-order Decimal path (tests compare the two)
        # the columnar lane: plain market orders (`submit_market`) kept as records, an Order built only when read
        self._lane: dict[str, _Plain] = {}
        self._lane_orders: dict[str, Order] = {}  # the accepted Orders of lane records someone already read
        self._lane_pending = np.zeros(len(self._index))

    # ----------------------------------------------------------------- state

    def restore(self, orders: Sequence[Order], first_sessions: dict[str, date] | None = None) -> None:
        """Reload working orders after a restart (first_sessions is accepted but no longer needed).

        A DAY order's session now follows from its creation time and the exchange calendar, and a
        bracket child is live exactly when its entry has a fill, so the orders alone restore the book.
        """
        self._spill()
        for order in orders:
            if order.is_open:
                self._working[order.id] = order

    @property
    def working(self) -> tuple[Order, ...]:
        """Orders that can still fill, oldest first."""
        return (*self._working.values(), *(self._lane_order(r) for r in self._lane.values()))

    def select(self, wanted: Callable[[str], bool]) -> list[Order]:
        """The working orders whose id `wanted` accepts, oldest first (lane records built into Orders only if taken)."""
        out = [o for o in self._working.values() if wanted(o.id)]
        return out + [self._lane_order(r) for r in self._lane.values() if wanted(r[2])] if self._lane else out

    def get(self, order_id: str) -> Order | None:
        """The current state of a working order, or None once it is closed."""
        plain = self._lane.get(order_id)
        return self._working.get(order_id) if plain is None else self._lane_order(plain)

    def pending_qty(self) -> Array:
        """Signed shares still to fill per symbol, so sizing does not double-order.

        Exits (bracket legs with a parent, and OCO pairs such as the engine's protective stops) are left
        out: they protect a position, they do not change the target the sizing aims at.
        """
        if not self._working:  # only the lane's records (or nothing): their sums are kept as they change
            return self._lane_pending.copy()
        pending = np.zeros(len(self._index))
        for order in self._working.values():
            if order.parent_id is None and order.oco_group is None:
                pending[self._index[order.symbol]] += order.side.sign * order.remaining
        return pending + self._lane_pending if self._lane else pending

    def halt(self, symbol: str) -> None:
        """Stop all fills in a symbol (a trading halt) until `resume` is called."""
        self._halted.add(symbol)

    def resume(self, symbol: str) -> None:
        """Lift a halt set by `halt` or the settings."""
        self._halted.discard(symbol)

    def observe(self, bars: BarSlice) -> None:
        """Feed a past bar into the trailing window (on_bars does it itself; use it to warm up a restart)."""
        if self._window is not None:
            self._window.observe(bars.high, bars.low, bars.close, bars.volume)

    # ------------------------------------------------------------- commands

    def submit(self, order: Order, at: datetime, report: BrokerReport) -> None:
        """Accept a new order into the working book, or reject it with the reason."""
        self._spill()  # the lane's records are older than this order: the book keeps submission order
        problem = self._problem(order)
        if problem:
            report.order_event(order.reject(at, problem), at)
            return
        accepted = order.accept(at)
        self._working[order.id] = accepted
        report.order_event(accepted, at)

    def submit_market(
        self, order_id: str, symbol: str, side: Side, qty: int, at: datetime, tag: str, report: BrokerReport
    ) -> None:
        """`submit` of a plain DAY market order created at `at`, kept in the columnar lane as a record: an Order is
        built only when someone reads it (a recorder or listener, `working`, `get`) or the bar needs the per-order
        path. The same checks, states and events as `submit(Order(...))`."""
        i = self._index.get(symbol)
        if (
            i is None
            or qty <= 0
            or order_id in self._working
            or order_id in self._lane
            or not self.vectorised
            or self._fees is None
            or self._pricer is None
            or self._window is not None
        ):
            self.submit(
                Order(order_id, symbol, side, qty, OrderType.MARKET, at, tif=TimeInForce.DAY, tag=tag), at, report
            )
            return
        buy = side is Side.BUY
        record = (buy, at, order_id, i, qty, tag)
        self._lane[order_id] = record
        self._lane_pending[i] += qty if buy else -qty
        if report.transitions:
            report.order_event(self._lane_order(record), at)

    def _lane_order(self, record: _Plain) -> Order:
        """The accepted Order a lane record stands for (built once, when first read)."""
        order = self._lane_orders.get(record[2])
        if order is None:
            buy, at, order_id, i, qty, tag = record
            order = self._lane_orders[order_id] = Order(
                order_id,
                self._symbols[i],
                Side.BUY if buy else Side.SELL,
                qty,
                OrderType.MARKET,
                at,
                tif=TimeInForce.DAY,
                status=OrderStatus.ACCEPTED,
                reason="accepted",
                updated_at=at,
                tag=tag,
            )
        return order

    def _lane_drop(self, record: _Plain) -> None:
        """A lane record filled in full or expired: out of the lane and its pending sum."""
        del self._lane[record[2]]
        self._lane_orders.pop(record[2], None)
        self._lane_pending[record[3]] -= record[4] if record[0] else -record[4]

    def _spill(self) -> None:
        """Move the lane's records into the per-order book as Orders, in submission order (the lane's records are
        always newer than the book's orders), so every other operation sees the book the per-order path keeps."""
        if not self._lane:
            return
        for order_id, record in self._lane.items():
            self._working[order_id] = self._lane_order(record)
        self._lane.clear()
        self._lane_orders.clear()
        self._lane_pending[:] = 0.0

    def _problem(self, order: Order) -> str:
        if order.symbol not in self._index:
            return f"unknown symbol {order.symbol}"
        if order.id in self._working:
            return f"duplicate order id {order.id}"
        if order.parent_id is not None:
            parent = self._working.get(order.parent_id)
            if parent is None:
                return f"parent {order.parent_id} is not working"
            if parent.symbol != order.symbol or parent.side is order.side:
                return f"an exit must be the opposite side of its entry {parent.id} in {parent.symbol}"
        return ""

    def submit_bracket(
        self, entry: Order, stop_loss: Order, take_profit: Order, at: datetime, report: BrokerReport
    ) -> None:
        """Submit an entry with its two OCO exits (build them with execution.orders.bracket)."""
        self.submit(entry, at, report)
        for child in (stop_loss, take_profit):
            if entry.id in self._working:
                self.submit(child, at, report)
            else:
                report.order_event(child.reject(at, f"entry {entry.id} was rejected"), at)

    def cancel_symbol(
        self, symbol: str, at: datetime, reason: str, report: BrokerReport, *, keep_exits: bool = False
    ) -> None:
        """Withdraw every working order in one symbol (a new target replaces them), or all but its exits."""
        self._spill()
        for order in [
            o
            for o in self._working.values()
            if o.symbol == symbol and not (keep_exits and (o.parent_id is not None or o.oco_group is not None))
        ]:
            self.cancel(order.id, at, reason, report)

    def cancel(self, order_id: str, at: datetime, reason: str, report: BrokerReport) -> None:
        """Withdraw what is left of a working order."""
        self._spill()
        order = self._working.get(order_id)
        if order is not None:
            self._finish(order, order.cancel(at, reason), report)

    def replace(
        self,
        order_id: str,
        at: datetime,
        report: BrokerReport,
        *,
        qty: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        tif: TimeInForce | None = None,
        new_id: str | None = None,
    ) -> Order | None:
        """Cancel a working order and submit its successor (linked by `replaces`); None if it was closed.

        The successor keeps the old order's terms except those given; qty defaults to what was left.
        """
        self._spill()
        old = self._working.get(order_id)
        if old is None:
            return None
        successor = Order(
            id=new_id or f"{old.id}.r",
            symbol=old.symbol,
            side=old.side,
            qty=qty if qty is not None else old.remaining,
            type=old.type,
            created_at=at,
            limit_price=limit_price if limit_price is not None else old.limit_price,
            tif=tif if tif is not None else old.tif,
            tag=old.tag,
            stop_price=stop_price if stop_price is not None else old.stop_price,
            parent_id=old.parent_id,
            oco_group=old.oco_group,
            replaces=old.id,
            extended_hours=old.extended_hours,
        )
        if successor.id in self._working:
            report.order_event(successor.reject(at, f"duplicate order id {successor.id}"), at)
            return None
        if old.filled_qty == 0:  # dormant exits follow the entry; live ones keep protecting its fills
            for child in self._children(old.id):
                moved = child.amend(at, f"entry {old.id} replaced by {successor.id}", parent_id=successor.id)
                self._working[child.id] = moved
                report.order_event(moved, at, "order.amended")
        self._finish(old, old.cancel(at, f"replaced by {successor.id}"), report)
        self.submit(successor, at, report)
        return self._working.get(successor.id)

    # ------------------------------------------------------ corporate actions

    def apply_split(self, symbol: str, ratio: Decimal, at: datetime, report: BrokerReport) -> None:
        """Adjust working orders for a split of `ratio` new shares per old share (FINRA Rule 5330 style).

        Forward split: quantities times ratio (whole shares, rounded down), prices divided by ratio and
        rounded to the cent AWAY from execution (buy limits and sell stops down, sell limits and buy
        stops up). Reverse split (ratio < 1): open orders are cancelled, as brokers do.
        """
        self._spill()
        if ratio <= 0:
            raise ValueError(f"split ratio must be positive, got {ratio}")
        if ratio == 1:
            return
        for order in [o for o in self._working.values() if o.symbol == symbol]:
            if ratio < 1:
                self._finish(order, order.cancel(at, f"reverse split {ratio} cancels open orders"), report)
                continue
            filled = int(order.filled_qty * ratio)
            remaining = int(order.remaining * ratio)
            if remaining <= 0:
                self._finish(order, order.cancel(at, f"split {ratio} leaves no whole share"), report)
                continue
            adjusted = order.amend(
                at,
                f"split {ratio}: qty and prices adjusted",
                qty=filled + remaining,
                filled_qty=filled,
                avg_fill_price=order.avg_fill_price / ratio if filled else order.avg_fill_price,
                limit_price=_away(order.limit_price / ratio, order.side, is_stop=False)
                if order.limit_price is not None
                else None,
                stop_price=_away(order.stop_price / ratio, order.side, is_stop=True)
                if order.stop_price is not None
                else None,
            )
            self._working[order.id] = adjusted
            report.order_event(adjusted, at, "order.amended")

    def apply_dividend(self, symbol: str, amount: Decimal, at: datetime, report: BrokerReport) -> None:
        """On the ex-date, lower buy limits and sell stops by a cash dividend (FINRA Rule 5330).

        Sell limits and buy stops are left alone; dividends under one cent change nothing.
        """
        self._spill()
        if amount < CENT:
            return
        for order in [o for o in self._working.values() if o.symbol == symbol]:
            limit, stop = order.limit_price, order.stop_price
            new_limit = new_stop = None
            if order.side is Side.BUY and order.type is OrderType.LIMIT and limit is not None:
                new_limit = (limit - amount).quantize(CENT, rounding=ROUND_FLOOR)
            if order.side is Side.SELL and stop is not None:
                new_stop = (stop - amount).quantize(CENT, rounding=ROUND_FLOOR)
                if limit is not None:
                    new_limit = (limit - amount).quantize(CENT, rounding=ROUND_FLOOR)
            if new_limit is None and new_stop is None:
                continue
            if (new_limit is not None and new_limit <= 0) or (new_stop is not None and new_stop <= 0):
                self._finish(order, order.cancel(at, f"dividend {amount} leaves no valid price"), report)
                continue
            adjusted = order.amend(
                at, f"ex-dividend {amount}: price reduced", limit_price=new_limit, stop_price=new_stop
            )
            self._working[order.id] = adjusted
            report.order_event(adjusted, at, "order.amended")

    # --------------------------------------------------------------- fills

    def on_bars(
        self,
        bars: BarSlice,
        cash: Decimal,
        report: BrokerReport,
        quotes: QuoteSlice | None = None,
        market: MarketInputs | None = None,
    ) -> None:
        """Work every eligible order against this cycle's bars; sells first so buys can use the proceeds.

        quotes: bid/ask at this bar's open (market orders then pay the real ask or receive the real bid).
        market: volatility, volume and spread estimated from EARLIER bars (impact and estimated spread);
        without it the broker uses its own trailing window when `market_window` is set.
        """
        self._market_known = market is not None or self._window is None
        if not self._working and not self._lane:  # nothing can fill or expire: only the trailing window moves on
            self.observe(bars)
            return
        self._market = market
        at = bars.open_time
        bar_session = session_date(at)
        hours: dict[tuple[str, bool], bool] = {}
        # which symbols traded in this bar, for every order at once (the calendar and halts are per order)
        traded = np.isfinite(bars.open)
        if self._exec.halt_on_zero_volume:
            traded &= bars.volume != 0
        open_ok: list[bool] = traded.tolist()
        if self._lane:
            done = False
            if not self._working and quotes is None and market is None:
                cash, done = self._lane_step(bars, bar_session, open_ok, hours, cash, report)
            if done:
                self.observe(bars)
                self._market = None
                return
            self._spill()
        self._work(bars, bar_session, open_ok, hours, cash, report, quotes, market)
        self.observe(bars)
        self._market = None

    def _work(
        self,
        bars: BarSlice,
        bar_session: date,
        open_ok: list[bool],
        hours: dict[tuple[str, bool], bool],
        cash: Decimal,
        report: BrokerReport,
        quotes: QuoteSlice | None,
        market: MarketInputs | None,
    ) -> None:
        """The per-order path of `on_bars`: every order of the book in turn (plain market orders array-matched)."""
        at = bars.open_time
        capacity: dict[int, int] = {}
        prices: dict[int, tuple[Decimal, Decimal, Decimal]] = {}
        ordered = sorted(self._working.values(), key=lambda o: (o.side is Side.BUY, o.created_at, o.id))
        vector: dict[str, tuple[int, int, int]] = {}
        if self.vectorised and quotes is None and market is None and self._window is None:
            vector = self._vector_terms(ordered, bars, open_ok)
        seen: set[str] = set()
        for snapshot in ordered:
            order = self._working.get(snapshot.id)
            if order is None or order.id in seen:
                continue
            seen.add(order.id)
            if not self._eligible(order, at):
                continue
            if order.tif is TimeInForce.DAY and bar_session > self._live_session(order):
                self._finish(order, order.expire(at, "day order not filled in its session"), report)
                continue
            i = self._index[order.symbol]
            if not self._tradable(order, bars, i, hours, open_ok):
                continue
            terms = vector.get(order.id)
            if terms is not None and order is snapshot:
                booked = self._vector_fill(order, terms, bars, i, cash, report)
                assert booked is not None  # an Order is always booked (in full, in part, or by `_execute`)
                cash = booked
                continue
            group = [order]
            if order.oco_group is not None:
                for sib in self._siblings(order):
                    if (
                        sib.id not in seen
                        and self._eligible(sib, at)
                        and not (sib.tif is TimeInForce.DAY and bar_session > self._live_session(sib))
                        and self._tradable(sib, bars, i, hours, open_ok)
                    ):
                        seen.add(sib.id)
                        group.append(sib)
            chosen = self._choose(group, bars, i, report, prices)
            if chosen is not None:
                cash = self._execute(chosen[0], chosen[1], bars, i, cash, report, quotes, capacity)

    def _lane_step(
        self,
        bars: BarSlice,
        bar_session: date,
        open_ok: list[bool],
        hours: dict[tuple[str, bool], bool],
        cash: Decimal,
        report: BrokerReport,
    ) -> tuple[Decimal, bool]:
        """Work the lane's records (the whole book) as the per-order path would, without building an Order for a
        record that expires or fills in full unless someone reads its state; returns (cash, done).

        The gates (latency, the DAY session, halts, the calendar) and the order (sells first, then by creation and
        id) are the per-order path's, and the fill terms the array step's. Where that path would do anything else
        (a second order in a symbol, an open off the grid, a partial fill, a buy the cash does not cover), the lane
        is spilled into the book untouched from there on and `done` is False: the per-order path works what is
        left (the records passed so far were filled, expired or left as they were, as that path leaves them).
        """
        records = sorted(self._lane.values())
        if len({r[3] for r in records}) != len(records):
            return cash, False
        terms = self._terms_for([r for r in records if open_ok[r[3]]], bars)
        if terms is None:
            return cash, False
        at = bars.open_time
        latency, extended = self._latency, self._exec.extended_hours
        sessions: dict[tuple[str, datetime], date] = {}  # the records of one cycle share their session
        for record in records:
            _, created, order_id, i, _, _ = record
            live_from = created + latency
            if at < live_from:
                continue
            exchange = self._exchange[self._symbols[i]]
            session = sessions.get((exchange, live_from))
            if session is None:
                session = sessions[exchange, live_from] = self._session((exchange, live_from, extended))
            if bar_session > session:
                order = self._lane_order(record)
                self._lane_drop(record)
                report.order_event(order.expire(at, "day order not filled in its session"), at)
                continue
            if not self._open_in(self._symbols[i], extended, bars, i, hours, open_ok):
                continue
            booked = self._vector_fill(record, terms[order_id], bars, i, cash, report)
            if booked is None:
                return cash, False
            cash = booked
        return cash, True

    def _vector_terms(
        self, ordered: Sequence[Order], bars: BarSlice, open_ok: list[bool]
    ) -> dict[str, tuple[int, int, int]]:
        """Match every plain market order of this bar in one array step, in exact int64 fixed point.

        Returns, per order id: shares the bar's volume lets it take, its fill price in 0.0001 ticks and the fee
        in cents, each what the per-order Decimal path (`_choose`, `_price`, `fill_fee`) gives, digit for digit.
        It covers a market order that is the only working order in its symbol, has no fill yet, no bracket or
        OCO link, in a symbol that traded this bar at an open on the 0.0001 grid; everything else (limits, stops,
        protective pairs, a second order in the symbol, an off-grid open, a product past int64, a commission
        model with venue fees) is left to the per-order path, which also keeps the gates (latency, DAY session,
        calendar, halts) and the order of events for every order.
        """
        fees, pricer = self._fees, self._pricer
        if fees is None or pricer is None:
            return {}
        count: dict[str, int] = {}
        parents: set[str] = set()  # an entry with exits anywhere (even a restored book's) keeps its contingencies
        for o in ordered:
            count[o.symbol] = count.get(o.symbol, 0) + 1
            if o.parent_id is not None:
                parents.add(o.parent_id)
        index = self._index
        take = [
            o
            for o in ordered
            if count[o.symbol] == 1
            and o.type is OrderType.MARKET
            and o.status is OrderStatus.ACCEPTED  # so no fill yet, and `fill` is a legal transition
            and not o.filled_qty
            and o.parent_id is None
            and o.oco_group is None
            and open_ok[index[o.symbol]]
            and o.id not in self._active_from
            and o.id not in parents
        ]
        if not take:
            return {}
        terms = self._terms_for(
            [(o.side is Side.BUY, o.created_at, o.id, index[o.symbol], o.qty, o.tag) for o in take], bars
        )
        return {} if terms is None else terms

    def _terms_for(self, take: list[_Plain], bars: BarSlice) -> dict[str, tuple[int, int, int]] | None:
        """(shares, price ticks, fee cents) per order of `take` from the integer schedules, or None where they
        cannot promise the Decimal path's digits; in Python ints for a handful of orders (numpy's call cost)."""
        fees, pricer = self._fees, self._pricer
        if fees is None or pricer is None:
            return None
        if not take:
            return {}
        fraction = self._exec.max_volume_fraction
        if len(take) < ARRAY_MIN:
            terms: dict[str, tuple[int, int, int]] = {}
            for buy, _, order_id, j, remaining, _ in take:
                reference = grid_tick(float(bars.open[j]))
                if reference is None:
                    return None
                qty = min(remaining, volume_capacity(float(bars.volume[j]), fraction))
                price = pricer.tick(reference, buy)
                if price is None or price * qty >= 2**61:
                    return None
                fee = fees.cent(price, qty)
                if fee is None:
                    return None
                terms[order_id] = (qty, price, fee)
            return terms
        n = len(take)
        i = np.fromiter((r[3] for r in take), dtype=np.int64, count=n)
        refs = grid_ticks(bars.open[i])
        if refs is None:
            return None
        wanted = np.fromiter((r[4] for r in take), dtype=np.int64, count=n)
        qtys = wanted
        if fraction is not None:  # volume_capacity in arrays: the same float expression, floored
            volume = bars.volume[i]
            room = np.where(np.isfinite(volume) & (volume > 0), np.floor(volume * fraction + 1e-9), 0.0)
            qtys = np.minimum(wanted, np.minimum(room, float(2**62)).astype(np.int64))
        prices = pricer.ticks(refs, np.fromiter((r[0] for r in take), dtype=bool, count=n))
        if prices is None or int(prices.max()) * int(qtys.max()) >= 2**61:
            return None
        fee_cents = fees.cents(prices, qtys)
        if fee_cents is None:
            return None
        return {
            r[2]: t
            for r, t in zip(take, zip(qtys.tolist(), prices.tolist(), fee_cents.tolist(), strict=True), strict=True)
        }

    def _vector_fill(
        self,
        order: Order | _Plain,
        terms: tuple[int, int, int],
        bars: BarSlice,
        i: int,
        cash: Decimal,
        report: BrokerReport,
    ) -> Decimal | None:
        """Book one order the array step matched: Decimals only for the fill and the order's new state.

        A buy the cash cannot cover in full takes the per-order `_execute` (it shrinks or cancels the order). A lane
        record (the columnar lane's) is booked only when it fills in full and the cash covers it; else nothing
        changes and the answer is None (the lane is then spilled and the per-order path takes it).
        """
        qty, ticks, cents = terms
        if qty <= 0:
            return cash  # the bar's volume is used up: keep working
        at = bars.open_time
        price, fee = price_decimal(ticks), fee_decimal(cents)
        if isinstance(order, tuple):
            return self._lane_fill(order, qty, price, fee, at, cash, report)
        if order.side is Side.BUY and price * qty + fee > cash:
            return self._execute(order, Match(to_decimal(bars.open[i]), True, True), bars, i, cash, report, None, {})
        self._fill_seq += 1
        fill = Fill(order.id, order.symbol, order.side, qty, price, fee, at, self._fill_seq)
        report.fills.append(fill)
        notional = price * qty
        if not report.transitions and qty == order.remaining:
            self._drop(order.id)  # filled in full, and nobody records or reads its final state
            return cash - notional - fee if order.side is Side.BUY else cash + notional - fee
        updated = order.fill(qty, price, at)
        if updated.filled_qty == updated.qty:
            report.order_event(updated, at, "order.filled")
            self._drop(order.id)
        else:
            report.order_event(updated, at, "order.partially_filled")
            self._working[order.id] = updated
        return cash - notional - fee if order.side is Side.BUY else cash + notional - fee

    def _lane_fill(
        self, record: _Plain, qty: int, price: Decimal, fee: Decimal, at: datetime, cash: Decimal, report: BrokerReport
    ) -> Decimal | None:
        """`_vector_fill` of a lane record: a fill in full that the cash covers, else None (nothing booked)."""
        buy, _, order_id, i, remaining, _ = record
        notional = price * qty
        if qty != remaining or (buy and notional + fee > cash):
            return None
        self._fill_seq += 1
        report.fills.append(
            Fill(order_id, self._symbols[i], Side.BUY if buy else Side.SELL, qty, price, fee, at, self._fill_seq)
        )
        if report.transitions:
            report.order_event(self._lane_order(record).fill(qty, price, at), at, "order.filled")
        self._lane_drop(record)
        return cash - notional - fee if buy else cash + notional - fee

    def on_quotes(
        self, at: datetime, prices: Array, cash: Decimal, report: BrokerReport, which: Callable[[Order], bool]
    ) -> None:
        """Work the resting orders `which` selects (protective stops and take-profits) against quotes at `at`.

        A quote is a one-price bar (open = high = low = the quote): a stop the quote crossed fills at the quote
        plus the spread and slippage the broker charges any order taking liquidity, a take-profit at the quote
        less the same costs and never past its limit, so no fill is better than the quote. Market orders wait for
        the next bar's open, and the trailing market window does not move (a quote is not a bar).
        """
        self._spill()
        if not self._working:
            return
        finite = np.isfinite(prices) & (prices > 0)
        if not finite.any():
            return
        px = np.where(finite, prices, np.nan)
        bars = BarSlice(-1, at, at, px, px, px, px, np.where(finite, float(2**53), np.nan))
        self._market_known = self._window is None
        self._market = None
        hours: dict[tuple[str, bool], bool] = {}
        open_ok: list[bool] = finite.tolist()
        quoted: dict[int, tuple[Decimal, Decimal, Decimal]] = {}
        capacity: dict[int, int] = {}
        ordered = sorted(self._working.values(), key=lambda o: (o.side is Side.BUY, o.created_at, o.id))
        seen: set[str] = set()
        for snapshot in ordered:
            order = self._working.get(snapshot.id)
            if order is None or order.id in seen or order.type is OrderType.MARKET or not which(order):
                continue
            seen.add(order.id)
            i = self._index[order.symbol]
            if not self._eligible(order, at) or not self._tradable(order, bars, i, hours, open_ok):
                continue
            group = [order]
            for sib in self._siblings(order):
                if (
                    sib.id not in seen
                    and sib.type is not OrderType.MARKET
                    and which(sib)
                    and self._eligible(sib, at)
                    and self._tradable(sib, bars, i, hours, open_ok)
                ):
                    seen.add(sib.id)
                    group.append(sib)
            chosen = self._choose(group, bars, i, report, quoted)
            if chosen is not None:
                cash = self._execute(chosen[0], chosen[1], bars, i, cash, report, None, capacity)
        self._market = None
        self._market_known = True

    def fill_now(self, order: Order, reference: float, at: datetime, report: BrokerReport) -> Fill:
        """Execute a whole order at once at `reference` plus the market-order costs (the drawdown guard's exits).

        The caller has already decided that the bar traded at `reference`; the order never rests in the book.
        """
        price = cost_price(
            to_decimal(reference), order.side, to_decimal(self._costs.slippage_bps) + self._half_spread_bps(0, None)
        )
        accepted = order.accept(at)
        report.order_event(accepted, at)
        fee = fill_fee(accepted, order.qty, price, self._costs, removes_liquidity=True)
        self._fill_seq += 1
        fill = Fill(order.id, order.symbol, order.side, order.qty, price, fee, at, self._fill_seq)
        report.fills.append(fill)
        report.order_event(accepted.fill(order.qty, price, at), at)
        return fill

    def _market_inputs(self) -> MarketInputs | None:
        """The caller's inputs for this bar, else the trailing window's (computed once, only if needed)."""
        if not self._market_known:
            assert self._window is not None
            self._market = self._window.inputs(self._exec.spread_estimator, self._exec.min_tick)
            self._market_known = True
        return self._market

    def _eligible(self, order: Order, at: datetime) -> bool:
        """Live now: created (plus latency) no later than this bar's open, and not a dormant bracket exit."""
        if at < order.created_at + self._latency:
            return False
        if order.parent_id is not None:
            parent = self._working.get(order.parent_id)
            if parent is not None and parent.filled_qty == 0:
                return False
        active_from = self._active_from.get(order.id)
        return active_from is None or at >= active_from

    def _live_session(self, order: Order) -> date:
        live = self._live.get(order.id)
        if live is None:
            key = (
                self._exchange[order.symbol],
                order.created_at + self._latency,
                order.extended_hours or self._exec.extended_hours,
            )
            live = self._live[order.id] = self._session(key)
        return live

    def _session(self, key: tuple[str, datetime, bool]) -> date:
        """The session an order live from key[1] works in (orders placed in the same cycle share the answer)."""
        live = self._sessions.get(key)
        if live is None:  # keep only the latest cycle's answers
            if len(self._sessions) > 64:
                self._sessions.clear()
            live = self._sessions[key] = live_session(*key)
        return live

    def _tradable(
        self, order: Order, bars: BarSlice, i: int, hours: dict[tuple[str, bool], bool], open_ok: list[bool]
    ) -> bool:
        """The symbol traded in this bar (open_ok: a finite open, and volume unless zero volume is allowed),
        is not halted, and the bar is in hours this order may use."""
        return self._open_in(order.symbol, order.extended_hours or self._exec.extended_hours, bars, i, hours, open_ok)

    def _open_in(
        self,
        symbol: str,
        extended: bool,
        bars: BarSlice,
        i: int,
        hours: dict[tuple[str, bool], bool],
        open_ok: list[bool],
    ) -> bool:
        """`_tradable` for an order in `symbol` that may (extended) or may not trade outside regular hours."""
        if not open_ok[i] or symbol in self._halted:
            return False
        if not self._exec.enforce_calendar:
            return True
        key = (self._exchange[symbol], extended)
        if key not in hours:
            exchange = key[0]
            hours[key] = in_regular_session(exchange, bars.open_time, bars.close_time) or (
                extended and in_extended_hours(exchange, bars.open_time)
            )
        return hours[key]

    def _choose(
        self,
        group: list[Order],
        bars: BarSlice,
        i: int,
        report: BrokerReport,
        prices: dict[int, tuple[Decimal, Decimal, Decimal]],
    ) -> tuple[Order, Match] | None:
        """Match each order of an OCO group (or a lone order), record triggers, pick the one that fills.

        prices: this bar's Decimal open, high and low per symbol, converted once however many orders it has.
        """
        at = bars.open_time
        bar = prices.get(i)
        if bar is None:
            bar = prices[i] = (to_decimal(bars.open[i]), to_decimal(bars.high[i]), to_decimal(bars.low[i]))
        open_, high, low = bar
        fillable: list[tuple[Order, Match]] = []
        for order in group:
            m = match_order(order, open_, high, low)
            if m is None:
                continue
            if m.triggers and not order.is_triggered:
                how = "gapped through" if m.at_open else "reached"
                order = order.trigger(at, f"stop {order.stop_price} {how} (open {open_}, range {low}-{high})")
                self._working[order.id] = order
                report.order_event(order, at, "order.triggered")
            if m.price is not None:
                fillable.append((order, m))
        if not fillable:
            return None
        return fillable[0] if len(fillable) == 1 else adverse_choice(fillable)

    def _price(self, order: Order, m: Match, i: int, quotes: QuoteSlice | None) -> Decimal:
        """The execution price: a resting limit gets its price; anything taking liquidity pays the costs."""
        assert m.price is not None
        if not m.takes_liquidity:
            return m.price
        reference = m.price
        market = self._market_inputs()
        half = self._half_spread_bps(i, market)
        if quotes is not None:
            bid, ask = float(quotes.bid[i]), float(quotes.ask[i])
            if np.isfinite(bid) and np.isfinite(ask) and 0 < bid <= ask:
                if m.at_open:
                    reference, half = to_decimal(ask if order.side is Side.BUY else bid), ZERO
                else:
                    half = to_decimal((ask - bid) / ((ask + bid) / 2.0) * 1e4 / 2.0)
        adverse = to_decimal(self._costs.slippage_bps) + half
        if market is not None:
            impact = sqrt_impact_bps(order.qty, float(market.adv[i]), float(market.sigma[i]), self._exec.impact_k)
            if impact > 0:
                adverse += to_decimal(impact)
        return cost_price(reference, order.side, adverse, m.cap)

    def _half_spread_bps(self, i: int, market: MarketInputs | None) -> Decimal:
        if self._exec.spread_model == "estimate" and market is not None and market.spread_bps is not None:
            estimate = float(market.spread_bps[i])
            if np.isfinite(estimate):
                return to_decimal(estimate / 2.0)
        return to_decimal(self._costs.spread_bps) / 2

    def _execute(
        self,
        order: Order,
        m: Match,
        bars: BarSlice,
        i: int,
        cash: Decimal,
        report: BrokerReport,
        quotes: QuoteSlice | None,
        capacity: dict[int, int],
    ) -> Decimal:
        at = bars.open_time
        left = capacity.setdefault(i, volume_capacity(float(bars.volume[i]), self._exec.max_volume_fraction))
        qty = min(order.remaining, left)
        if qty <= 0:
            return cash  # the bar's volume is used up: keep working
        price = self._price(order, m, i, quotes)
        takes = m.takes_liquidity

        def fee_of(q: int) -> Decimal:
            return fill_fee(order, q, price, self._costs, removes_liquidity=takes)

        cash_limited = False
        if order.side is Side.BUY:
            affordable = affordable_qty(qty, price, cash, self._costs, fee_of)
            if affordable == 0:
                self._finish(order, order.cancel(at, "insufficient cash at fill price"), report)
                return cash
            cash_limited, qty = affordable < qty, affordable
        fee = fee_of(qty)
        self._fill_seq += 1
        fill = Fill(order.id, order.symbol, order.side, qty, price, fee, at, self._fill_seq)
        report.fills.append(fill)
        capacity[i] = left - qty
        updated = order.fill(qty, price, at)
        report.order_event(updated, at)
        if cash_limited and updated.is_open:
            self._finish(updated, updated.cancel(at, "insufficient cash for the rest at fill price"), report)
        elif updated.is_open:
            self._working[order.id] = updated
        else:
            self._drop(order.id)
        self._after_fill(updated, qty, bars, report)
        return cash + fill.cash_delta

    def _after_fill(self, order: Order, qty: int, bars: BarSlice, report: BrokerReport) -> None:
        """Contingent orders: grow a bracket's exits, reduce OCO siblings, close a finished bracket."""
        at = bars.open_time
        first = order.filled_qty == qty
        for child in self._children(order.id):
            if first:
                moved = child.amend(at, f"activated by {order.id} fill: protects {qty}", qty=qty)
                kind = "order.activated"
            else:
                moved = child.amend(at, f"grown with {order.id} fill to {child.qty + qty}", qty=child.qty + qty)
                kind = "order.amended"
            self._working[child.id] = moved
            self._active_from.setdefault(child.id, bars.close_time)
            report.order_event(moved, at, kind)
        for sib in self._siblings(order):
            left = sib.qty - qty
            if left <= sib.filled_qty:
                self._finish(sib, sib.cancel(at, f"OCO: {order.id} filled"), report)
            else:
                moved = sib.amend(at, f"OCO: reduced by {qty} after {order.id} filled", qty=left)
                self._working[sib.id] = moved
                report.order_event(moved, at, "order.amended")
        if order.parent_id is not None and order.parent_id in self._working and not self._children(order.parent_id):
            parent = self._working[order.parent_id]
            self._finish(parent, parent.cancel(at, "bracket exits completed"), report)

    def _children(self, parent_id: str) -> list[Order]:
        return [o for o in self._working.values() if o.parent_id == parent_id]

    def _siblings(self, order: Order) -> list[Order]:
        if order.oco_group is None:
            return []
        return [o for o in self._working.values() if o.oco_group == order.oco_group and o.id != order.id]

    def _drop(self, order_id: str) -> None:
        self._working.pop(order_id, None)
        self._live.pop(order_id, None)
        self._active_from.pop(order_id, None)

    def _finish(self, old: Order, new: Order, report: BrokerReport) -> None:
        """Close an order for good; an entry closed before any fill takes its dormant exits with it."""
        self._drop(old.id)
        report.order_event(new, new.updated_at or old.created_at)
        if new.status.is_terminal and new.filled_qty == 0:
            for child in self._children(old.id):
                status = "rejected" if new.status is OrderStatus.REJECTED else new.status.value
                self._finish(child, child.cancel(new.updated_at or old.created_at, f"entry {old.id} {status}"), report)


def _away(price: Decimal, side: Side, *, is_stop: bool) -> Decimal:
    """Round an adjusted price to the cent, away from execution (buy limit and sell stop down, others up)."""
    down = (side is Side.BUY) != is_stop
    return price.quantize(CENT, rounding=ROUND_FLOOR if down else ROUND_CEILING)
