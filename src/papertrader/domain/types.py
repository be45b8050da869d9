"""Value types. Orders are immutable: every lifecycle step returns a new Order, so history is kept."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from papertrader.core.errors import InvalidTransitionError

ZERO = Decimal(0)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buys, -1 for sells: the direction a fill moves the position."""
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"


class OrderStatus(StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """Terminal orders never change again."""
        return self in _TERMINAL


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})

_ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset({OrderStatus.ACCEPTED, OrderStatus.REJECTED}),
    OrderStatus.ACCEPTED: frozenset(
        {
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
            OrderStatus.EXPIRED,
        }
    ),
    OrderStatus.PARTIALLY_FILLED: frozenset(
        {
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
            OrderStatus.EXPIRED,
        }
    ),
}


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar; ts is the bar's start (UTC), so it is fully known only at ts + interval."""

    symbol: str
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    interval: str = "1d"

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise ValueError("Bar.ts must be timezone-aware")
        prices = (self.open, self.high, self.low, self.close)
        if any(not math.isfinite(p) or p <= 0 for p in prices):
            raise ValueError(f"{self.symbol} {self.ts}: prices must be finite and positive")
        if self.high < max(self.open, self.close, self.low) or self.low > min(self.open, self.close):
            raise ValueError(f"{self.symbol} {self.ts}: high/low do not bound the bar")
        if not math.isfinite(self.volume) or self.volume < 0:
            raise ValueError(f"{self.symbol} {self.ts}: volume must be finite and >= 0")


@dataclass(frozen=True, slots=True)
class Order:
    """An instruction to the broker; quantity is whole shares, prices are Decimal.

    Contingent orders: `parent_id` names the entry a bracket exit belongs to (it works only once the
    entry has filled); orders sharing an `oco_group` cancel each other (one fill reduces the others).
    `replaces` links a cancel/replace successor to the order it replaced; `triggered_at` records when a
    stop or stop-limit was elected; `extended_hours` lets the order trade outside the regular session.
    """

    id: str
    symbol: str
    side: Side
    qty: int
    type: OrderType
    created_at: datetime
    limit_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.DAY
    status: OrderStatus = OrderStatus.NEW
    filled_qty: int = 0
    avg_fill_price: Decimal = ZERO
    reason: str = ""
    updated_at: datetime | None = None
    tag: str = ""
    stop_price: Decimal | None = None
    parent_id: str | None = None
    oco_group: str | None = None
    replaces: str | None = None
    triggered_at: datetime | None = None
    extended_hours: bool = False

    def __post_init__(self) -> None:
        if self.qty <= 0:
            raise ValueError(f"order {self.id}: qty must be positive, got {self.qty}")
        if self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and (self.limit_price is None or self.limit_price <= 0):
            raise ValueError(f"order {self.id}: a {self.type.value} order needs a positive limit price")
        if self.type in (OrderType.STOP, OrderType.STOP_LIMIT) and (self.stop_price is None or self.stop_price <= 0):
            raise ValueError(f"order {self.id}: a {self.type.value} order needs a positive stop price")
        if self.parent_id is not None and self.parent_id == self.id:
            raise ValueError(f"order {self.id}: an order cannot be its own parent")
        if not 0 <= self.filled_qty <= self.qty:
            raise ValueError(f"order {self.id}: filled_qty {self.filled_qty} outside 0..{self.qty}")

    @property
    def remaining(self) -> int:
        """Shares still to fill."""
        return self.qty - self.filled_qty

    @property
    def is_open(self) -> bool:
        """Whether the order can still fill."""
        return not self.status.is_terminal

    def _to(self, status: OrderStatus, at: datetime, reason: str, **changes: object) -> Order:
        if status not in _ALLOWED.get(self.status, frozenset()):
            raise InvalidTransitionError(f"order {self.id}: {self.status} -> {status} is not allowed")
        return self._evolve(status=status, updated_at=at, reason=reason, **changes)

    def _evolve(self, **changes: object) -> Order:
        """A copy with some fields changed, without re-running __post_init__.

        Only lifecycle steps use it, and each checks what it changes (the transition table, fill sizes),
        so an order validated once at creation stays valid; `dataclasses.replace` would re-validate every
        field on every transition of the broker's hot loop.
        """
        return _copy_order(self, changes)

    def accept(self, at: datetime, reason: str = "accepted") -> Order:
        """The broker took the order and it is now working."""
        return self._to(OrderStatus.ACCEPTED, at, reason)

    def reject(self, at: datetime, reason: str) -> Order:
        """The broker refused the order before it worked."""
        return self._to(OrderStatus.REJECTED, at, reason)

    def cancel(self, at: datetime, reason: str) -> Order:
        """The rest of a working order is withdrawn."""
        return self._to(OrderStatus.CANCELLED, at, reason)

    def expire(self, at: datetime, reason: str) -> Order:
        """Its time in force ran out."""
        return self._to(OrderStatus.EXPIRED, at, reason)

    @property
    def is_stop(self) -> bool:
        """Stop and stop-limit orders wait for their trigger before they can fill."""
        return self.type in (OrderType.STOP, OrderType.STOP_LIMIT)

    @property
    def is_triggered(self) -> bool:
        """Whether a stop has been elected (always true for market and limit orders)."""
        return not self.is_stop or self.triggered_at is not None

    def trigger(self, at: datetime, reason: str) -> Order:
        """Elect a stop: from now on a stop works as a market order and a stop-limit as a limit order."""
        if not self.is_open or self.status is OrderStatus.NEW:
            raise InvalidTransitionError(f"order {self.id}: only a working order can be triggered")
        if not self.is_stop:
            raise InvalidTransitionError(f"order {self.id}: a {self.type.value} order has no trigger")
        if self.triggered_at is not None:
            raise InvalidTransitionError(f"order {self.id}: already triggered at {self.triggered_at}")
        return self._evolve(triggered_at=at, updated_at=at, reason=reason)

    def amend(
        self,
        at: datetime,
        reason: str,
        *,
        qty: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        parent_id: str | None = None,
        filled_qty: int | None = None,
        avg_fill_price: Decimal | None = None,
    ) -> Order:
        """Change a working order in place (resize, reprice, relink), keeping its status and fills."""
        if not self.is_open or self.status is OrderStatus.NEW:
            raise InvalidTransitionError(f"order {self.id}: only a working order can be amended")
        changes: dict[str, object] = {}
        for name, value in (
            ("qty", qty),
            ("limit_price", limit_price),
            ("stop_price", stop_price),
            ("parent_id", parent_id),
            ("filled_qty", filled_qty),
            ("avg_fill_price", avg_fill_price),
        ):
            if value is not None:
                changes[name] = value
        amended = replace(self, updated_at=at, reason=reason, **changes)  # type: ignore[arg-type]
        if amended.remaining <= 0:
            raise InvalidTransitionError(f"order {self.id}: an amendment must leave shares to fill")
        return amended

    def fill(self, qty: int, price: Decimal, at: datetime) -> Order:
        """Apply an execution of qty shares at price, keeping the volume-weighted average."""
        if qty <= 0 or qty > self.remaining:
            raise InvalidTransitionError(f"order {self.id}: cannot fill {qty} of {self.remaining} remaining")
        filled = self.filled_qty + qty
        avg = (self.avg_fill_price * self.filled_qty + price * qty) / filled
        status = OrderStatus.FILLED if filled == self.qty else OrderStatus.PARTIALLY_FILLED
        reason = "filled" if status is OrderStatus.FILLED else f"filled {filled} of {self.qty}"
        return self._to(status, at, reason, filled_qty=filled, avg_fill_price=avg)


_ORDER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Order))


def _order_copier() -> Callable[[Order, dict[str, object]], Order]:
    """Build `copy(order, changes)` with one line per field (a loop over names costs twice as much per call)."""
    lines = ["def copy(order, changes):", "    new = _new(_Order)"]
    lines += [f"    _set(new, {n!r}, changes[{n!r}] if {n!r} in changes else order.{n})" for n in _ORDER_FIELDS]
    lines.append("    return new")
    namespace: dict[str, Any] = {"_new": object.__new__, "_set": object.__setattr__, "_Order": Order}
    exec("\n".join(lines), namespace)  # the source is built from the dataclass's own field names
    copier: Callable[[Order, dict[str, object]], Order] = namespace["copy"]
    return copier


_copy_order = _order_copier()


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution: what the ledger books. Price already includes spread and slippage."""

    order_id: str
    symbol: str
    side: Side
    qty: int
    price: Decimal
    fee: Decimal
    ts: datetime
    seq: int = 0

    @property
    def notional(self) -> Decimal:
        """Traded value before fees."""
        return self.price * self.qty

    @property
    def cash_delta(self) -> Decimal:
        """Cash change: buys pay notional plus fee, sells receive notional minus fee."""
        return -self.side.sign * self.notional - self.fee


@dataclass(frozen=True, slots=True)
class Lot:
    """Shares opened at one price; signed (negative for a short lot)."""

    qty: int
    price: Decimal


@dataclass(frozen=True, slots=True)
class Position:
    """Holdings in one symbol as FIFO lots, so realised P&L is exact in Decimal (no rounded averages)."""

    symbol: str
    lots: tuple[Lot, ...] = ()
    realized_pnl: Decimal = ZERO

    @property
    def qty(self) -> int:
        """Net shares; negative when short."""
        return sum(lot.qty for lot in self.lots)

    @property
    def cost_basis(self) -> Decimal:
        """Signed amount paid for the open lots."""
        return sum((lot.price * lot.qty for lot in self.lots), ZERO)

    @property
    def avg_price(self) -> Decimal:
        """Average open price, for display (the ledger itself never uses a rounded average)."""
        qty = self.qty
        return self.cost_basis / qty if qty else ZERO

    def apply(self, side: Side, qty: int, price: Decimal) -> Position:
        """Book a fill: extend, or close lots first-in first-out (realising P&L), then flip if needed."""
        remaining = side.sign * qty
        lots = list(self.lots)
        realized = self.realized_pnl
        while remaining and lots and (lots[0].qty > 0) != (remaining > 0):
            lot = lots[0]
            closing = min(abs(lot.qty), abs(remaining))
            direction = 1 if lot.qty > 0 else -1
            realized += (price - lot.price) * closing * direction
            left = lot.qty - direction * closing
            remaining += direction * closing
            if left:
                lots[0] = Lot(left, lot.price)
            else:
                lots.pop(0)
        if remaining:
            lots.append(Lot(remaining, price))
        return Position(self.symbol, tuple(lots), realized)

    def unrealized(self, mark: Decimal) -> Decimal:
        """Open P&L at a mark price."""
        return sum(((mark - lot.price) * lot.qty for lot in self.lots), ZERO)


@dataclass(frozen=True, slots=True)
class Signal:
    """A model's or rule's opinion: a target weight of equity in [-1, 1] with confidence and reasons."""

    symbol: str
    ts: datetime
    target_weight: float
    confidence: float
    source: str
    rationale: str = ""
    features: dict[str, float] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not -1.0 <= self.target_weight <= 1.0:
            raise ValueError(f"target_weight {self.target_weight} outside [-1, 1]")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} outside [0, 1]")
