"""PaperBroker: works orders against bars it has not yet shown the strategy, with explicit costs.

The rule that keeps results honest: an order only ever fills on a bar whose open is at or after the
moment the order was created. A market order decided at the close of bar t therefore fills at the open
of bar t+1 (plus half the spread and slippage), and a limit order fills only when a later bar trades
through its price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import numpy as np

from papertrader.config.settings import CostSettings
from papertrader.core.events import Event
from papertrader.domain.sessions import session_date
from papertrader.domain.types import Fill, Order, OrderType, Side, TimeInForce
from papertrader.execution.fees import affordable_qty, commission, market_fill_price, to_decimal
from papertrader.features.technical import Array

ZERO = Decimal(0)


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
    events: list[Event] = field(default_factory=list)

    def order_event(self, order: Order, at: datetime) -> None:
        """Record an order's transition as both its new state and an event with the reason."""
        self.orders.append(order)
        self.events.append(
            Event(
                at,
                f"order.{order.status.value}",
                {
                    "order_id": order.id,
                    "symbol": order.symbol,
                    "side": order.side.value,
                    "qty": order.qty,
                    "type": order.type.value,
                    "filled_qty": order.filled_qty,
                    "reason": order.reason,
                },
            )
        )


class PaperBroker:
    """Simulated broker for a fixed universe; a cash account (no borrowing to buy)."""

    def __init__(self, symbols: Sequence[str], costs: CostSettings, fill_seq: int = 0) -> None:
        self._index = {s: i for i, s in enumerate(symbols)}
        self._costs = costs
        self._working: dict[str, Order] = {}
        self._day_session: dict[str, date] = {}
        self._fill_seq = fill_seq

    def restore(self, orders: Sequence[Order], first_sessions: dict[str, date]) -> None:
        """Reload working orders after a restart, with the session each DAY order first became live in."""
        for order in orders:
            if order.is_open:
                self._working[order.id] = order
                if order.id in first_sessions:
                    self._day_session[order.id] = first_sessions[order.id]

    @property
    def working(self) -> tuple[Order, ...]:
        """Orders that can still fill, oldest first."""
        return tuple(self._working.values())

    def pending_qty(self) -> Array:
        """Signed shares still to fill per symbol, so sizing does not double-order."""
        pending = np.zeros(len(self._index))
        for order in self._working.values():
            pending[self._index[order.symbol]] += order.side.sign * order.remaining
        return pending

    def submit(self, order: Order, at: datetime, report: BrokerReport) -> None:
        """Accept a new order into the working book, or reject it with the reason."""
        if order.symbol not in self._index:
            report.order_event(order.reject(at, f"unknown symbol {order.symbol}"), at)
            return
        if order.id in self._working:
            report.order_event(order.reject(at, f"duplicate order id {order.id}"), at)
            return
        accepted = order.accept(at)
        self._working[order.id] = accepted
        report.order_event(accepted, at)

    def cancel_symbol(self, symbol: str, at: datetime, reason: str, report: BrokerReport) -> None:
        """Withdraw every working order in one symbol (a new target replaces them)."""
        for order in [o for o in self._working.values() if o.symbol == symbol]:
            self.cancel(order.id, at, reason, report)

    def cancel(self, order_id: str, at: datetime, reason: str, report: BrokerReport) -> None:
        """Withdraw what is left of a working order."""
        order = self._working.pop(order_id, None)
        if order is not None:
            report.order_event(order.cancel(at, reason), at)

    def on_bars(self, bars: BarSlice, cash: Decimal, report: BrokerReport) -> None:
        """Work every eligible order against this cycle's bars; sells first so buys can use the proceeds."""
        ordered = sorted(self._working.values(), key=lambda o: (o.side is Side.BUY, o.created_at, o.id))
        for order in ordered:
            if bars.open_time < order.created_at:
                continue  # the bar started before the decision: its prices were already seen
            i = self._index[order.symbol]
            session = session_date(bars.open_time)
            first = self._day_session.setdefault(order.id, session)
            if order.tif is TimeInForce.DAY and session > first:
                self._close(order, order.expire(bars.open_time, "day order not filled in its session"), report)
                continue
            if not np.isfinite(bars.open[i]):
                continue  # no trade in this symbol this bar: the order keeps working
            price = self._fill_price(order, bars, i)
            if price is None:
                continue
            cash = self._execute(order, price, bars, cash, report)

    def _fill_price(self, order: Order, bars: BarSlice, i: int) -> Decimal | None:
        if order.type is OrderType.MARKET:
            return market_fill_price(float(bars.open[i]), order.side, self._costs)
        limit = order.limit_price
        assert limit is not None
        open_, low, high = to_decimal(bars.open[i]), to_decimal(bars.low[i]), to_decimal(bars.high[i])
        if order.side is Side.BUY:
            if open_ <= limit:
                return open_
            return limit if low < limit else None
        if open_ >= limit:
            return open_
        return limit if high > limit else None

    def _execute(self, order: Order, price: Decimal, bars: BarSlice, cash: Decimal, report: BrokerReport) -> Decimal:
        at = bars.open_time
        qty = order.remaining
        if order.side is Side.BUY:
            qty = affordable_qty(qty, price, cash, self._costs)
            if qty == 0:
                self._close(order, order.cancel(at, "insufficient cash at fill price"), report)
                return cash
        fee = commission(qty, price, self._costs)
        self._fill_seq += 1
        fill = Fill(order.id, order.symbol, order.side, qty, price, fee, at, self._fill_seq)
        report.fills.append(fill)
        updated = order.fill(qty, price, at)
        report.order_event(updated, at)
        if updated.is_open:
            self._close(updated, updated.cancel(at, "insufficient cash for the rest at fill price"), report)
        else:
            self._working.pop(order.id, None)
            self._day_session.pop(order.id, None)
        return cash + fill.cash_delta

    def _close(self, old: Order, new: Order, report: BrokerReport) -> None:
        self._working.pop(old.id, None)
        self._day_session.pop(old.id, None)
        report.order_event(new, new.updated_at or old.created_at)
