"""The one catalogue of what a run records: typed, frozen events with the kind string and payload they are stored as.

Every event the engine, risk, broker, guard, protection and monitor publish is one of these classes. Each has the
`KIND` string it has always been stored under (databases written before the events were typed read back
unchanged), typed fields, `to_dict()` (the exact JSON payload stored, key for key and in the same order) and
`from_dict()`. `event_from_record` turns a stored row back into its class; a kind this version does not know, or
a payload that does not fit its class, comes back as an `UnknownEvent` that keeps the row as it was, so an old
or foreign row never crashes a reader. The named groups at the end (risk, alert, action, restore, monitor...)
are derived from the catalogue and replace the lists that used to be re-declared by each reader.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, ClassVar, Self

from papertrader.domain.types import OrderType, Side


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Something that happened at `ts` (simulated or wall time); subclasses add the typed fields of their payload."""

    ts: datetime
    KIND: ClassVar[str] = ""

    @property
    def kind(self) -> str:
        """The string the event is stored and subscribed under."""
        return self.KIND

    def to_dict(self) -> dict[str, Any]:
        """The JSON payload stored for this event: the fields after `ts`, in order (Decimals as strings)."""
        return {f.name: _encode(getattr(self, f.name)) for f in _payload_fields(type(self))}

    @classmethod
    def from_dict(cls, ts: datetime, payload: Mapping[str, Any]) -> Self:
        """The event stored as `payload` at `ts`; KeyError/TypeError/ValueError if the payload does not fit."""
        fields = _payload_fields(cls)
        extra = set(payload) - {f.name for f in fields}
        if extra:
            raise ValueError(f"{cls.KIND} payload has keys its event does not know: {sorted(extra)}")
        hints = _hints(cls)
        values: dict[str, Any] = {}
        for f in fields:
            if f.name in payload:
                values[f.name] = _decode(hints[f.name], payload[f.name])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise KeyError(f"{cls.KIND} payload lacks {f.name!r}")
        return cls(ts, **values)

    @property
    def payload(self) -> dict[str, Any]:
        """The stored payload (`to_dict()`), for readers that show every field generically."""
        return self.to_dict()


# ---- the engine ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CycleClosed(DomainEvent):
    """One cycle finished: the account after it and how much it traded."""

    KIND: ClassVar[str] = "cycle"
    cycle: int
    cash: Decimal
    equity: Decimal
    gross_exposure: Decimal
    fills: int
    orders: int


@dataclass(frozen=True, slots=True)
class SignalChanged(DomainEvent):
    """The strategy moved a symbol's target weight; votes are the board members' opinions when it has a board."""

    KIND: ClassVar[str] = "signal"
    symbol: str
    source: str
    target_weight: float
    confidence: float
    rationale: str
    votes: tuple[Mapping[str, Any], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stored payload; `votes` only when the strategy voted (as before)."""
        out = {
            "symbol": self.symbol,
            "source": self.source,
            "target_weight": self.target_weight,
            "confidence": self.confidence,
            "rationale": self.rationale,
        }
        if self.votes is not None:
            out["votes"] = [_encode(v) for v in self.votes]
        return out


@dataclass(frozen=True, slots=True)
class OrderSubmitted(DomainEvent):
    """The engine sent a market order towards a new target weight."""

    KIND: ClassVar[str] = "order.submitted"
    order_id: str
    symbol: str
    side: Side
    qty: int
    type: OrderType
    target_weight: float


@dataclass(frozen=True, slots=True)
class OrderFilled(DomainEvent):
    """A fill booked into the ledger (the event `check` and a resume rebuild cash and positions from)."""

    KIND: ClassVar[str] = "fill"
    order_id: str
    seq: int
    symbol: str
    side: Side
    qty: int
    price: Decimal
    fee: Decimal


@dataclass(frozen=True, slots=True)
class HealthChanged(DomainEvent):
    """A component's health status changed (signals, database, data feed, a model)."""

    KIND: ClassVar[str] = "health"
    component: str
    status: str
    message: str


@dataclass(frozen=True, slots=True)
class HaltChanged(DomainEvent):
    """Trading was halted (flatten, no new risk) or resumed by an operator's reset."""

    KIND: ClassVar[str] = "halt"
    halted: bool
    reason: str


@dataclass(frozen=True, slots=True)
class TradingModeChanged(DomainEvent):
    """The operator switched between paper trading and observe-only (decide and size, send nothing)."""

    KIND: ClassVar[str] = "trading.mode"
    observe: bool
    mode: str
    reason: str

    @classmethod
    def switched(cls, ts: datetime, observe: bool, reason: str) -> TradingModeChanged:
        """The event for a switch to `observe` (mode named from it)."""
        return cls(ts, observe, "observe" if observe else "paper", reason)


@dataclass(frozen=True, slots=True)
class StrategyRebuilt(DomainEvent):
    """A live session traded on a rebuilt strategy from `first_cycle` (a retrained model was picked up)."""

    KIND: ClassVar[str] = "strategy.rebuilt"
    strategy: str
    versions: Mapping[str, Any]
    members: Mapping[str, Any]
    first_cycle: int
    calibration: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class LiveRestarted(DomainEvent):
    """A live run was resumed; `clean` is False when it had crashed or been killed (its row still said so).

    `since` is the close of its last committed cycle (ISO 8601, UTC): the closes between it and `ts` were skipped
    (clean stop) or missed (crash), which is how the live uptime score (engine/live_score.py) tells them apart.
    """

    KIND: ClassVar[str] = "live.restarted"
    since: str | None
    clean: bool
    previous_status: str


@dataclass(frozen=True, slots=True)
class LiveScored(DomainEvent):
    """A live run's uptime and critical failures so far, scored at a session's end (engine/live_score.py)."""

    KIND: ClassVar[str] = "live.score"
    scheduled: int
    up: int
    uptime: float | None
    missed_closes: int
    critical_failures: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SplitApplied(DomainEvent):
    """A split went ex: shares x ratio, the fraction paid in cash at cash_in_lieu_price; `cash` is what it paid."""

    KIND: ClassVar[str] = "split"
    symbol: str
    ratio: Decimal
    qty: int
    cash_in_lieu_price: Decimal
    cash: Decimal


@dataclass(frozen=True, slots=True)
class DividendPaid(DomainEvent):
    """A cash dividend went ex on `qty` shares held; `cash` is what it credited (or charged a short)."""

    KIND: ClassVar[str] = "dividend"
    symbol: str
    amount: Decimal
    qty: int
    cash: Decimal


# ---- the broker: one event per order transition (same payload), the kind names the transition ----------------


@dataclass(frozen=True, slots=True)
class OrderChanged(DomainEvent):
    """An order's state changed at the broker; subclasses name the transition."""

    order_id: str
    symbol: str
    side: Side
    qty: int
    type: OrderType
    filled_qty: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class OrderCreated(OrderChanged):
    """An order was created (not yet accepted)."""

    KIND: ClassVar[str] = "order.new"


@dataclass(frozen=True, slots=True)
class OrderAccepted(OrderChanged):
    """The broker accepted an order; it works from the next bar."""

    KIND: ClassVar[str] = "order.accepted"


@dataclass(frozen=True, slots=True)
class OrderPartiallyFilled(OrderChanged):
    """An order filled in part; the rest keeps working."""

    KIND: ClassVar[str] = "order.partially_filled"


@dataclass(frozen=True, slots=True)
class OrderCompleted(OrderChanged):
    """An order filled completely (its fills are `OrderFilled` events)."""

    KIND: ClassVar[str] = "order.filled"


@dataclass(frozen=True, slots=True)
class OrderCancelled(OrderChanged):
    """A working order was cancelled; `reason` says why."""

    KIND: ClassVar[str] = "order.cancelled"


@dataclass(frozen=True, slots=True)
class OrderRejected(OrderChanged):
    """The broker refused an order; `reason` says why."""

    KIND: ClassVar[str] = "order.rejected"


@dataclass(frozen=True, slots=True)
class OrderExpired(OrderChanged):
    """A day order ended unfilled at the session close."""

    KIND: ClassVar[str] = "order.expired"


@dataclass(frozen=True, slots=True)
class OrderAmended(OrderChanged):
    """A working order was changed in place (a split, a dividend, a resized protective leg)."""

    KIND: ClassVar[str] = "order.amended"


@dataclass(frozen=True, slots=True)
class OrderTriggered(OrderChanged):
    """A stop order's trigger traded; it now works as a market order."""

    KIND: ClassVar[str] = "order.triggered"


@dataclass(frozen=True, slots=True)
class OrderActivated(OrderChanged):
    """A contingent order (a protective leg) became active once its entry filled."""

    KIND: ClassVar[str] = "order.activated"


# ---- risk: sizing cuts and denials, loss limits -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskLimitHit(DomainEvent):
    """A risk rule changed an order: `rule` bound for `symbol` ('*' for the book); `numbers` say by how much."""

    symbol: str
    rule: str
    numbers: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The stored payload: symbol, rule, then the rule's numbers flat (as they were always stored)."""
        return {"symbol": self.symbol, "rule": self.rule, **self.numbers}

    @classmethod
    def from_dict(cls, ts: datetime, payload: Mapping[str, Any]) -> Self:
        """The event from its flat payload; every key after symbol and rule is one of its numbers."""
        numbers = {str(k): v for k, v in payload.items() if k not in ("symbol", "rule")}
        for name, value in numbers.items():
            if value is not None and not isinstance(value, int | float):
                raise TypeError(f"{cls.KIND} number {name!r} is not a number: {value!r}")
        return cls(ts, str(payload["symbol"]), str(payload["rule"]), numbers)


@dataclass(frozen=True, slots=True)
class OrderDenied(RiskLimitHit):
    """A rule denied a trade outright (too small, no shorting, the daily loss limit)."""

    KIND: ClassVar[str] = "order.denied"


@dataclass(frozen=True, slots=True)
class OrderReduced(RiskLimitHit):
    """A rule cut a trade or a target weight (position, sector, gross, order size caps)."""

    KIND: ClassVar[str] = "order.reduced"


@dataclass(frozen=True, slots=True)
class OrderResized(RiskLimitHit):
    """Sizing raised a target above what the strategy asked (Kelly, vol target), within the limits."""

    KIND: ClassVar[str] = "order.resized"


@dataclass(frozen=True, slots=True)
class KillSwitchFired(DomainEvent):
    """The drawdown from peak passed max_drawdown: the engine flattens and halts until an operator resets."""

    KIND: ClassVar[str] = "risk.kill_switch"
    rule: str
    drawdown: float | None
    limit: float
    peak_equity: float
    equity: float


@dataclass(frozen=True, slots=True)
class DailyLossLimitHit(DomainEvent):
    """The session's loss passed daily_loss_limit: no new entries this session (and a flatten when configured)."""

    KIND: ClassVar[str] = "risk.daily_loss_limit"
    rule: str
    loss: float | None
    limit: float
    start_of_day_equity: float | None
    flatten: bool


@dataclass(frozen=True, slots=True)
class PositionsFlattened(DomainEvent):
    """The engine closed everything because `rule` fired (flatten_on_daily_limit)."""

    KIND: ClassVar[str] = "risk.flatten"
    rule: str


@dataclass(frozen=True, slots=True)
class GapThrough(DomainEvent):
    """The open gapped through the drawdown guard's allowance; `symbols` are the moves against the book."""

    KIND: ClassVar[str] = "risk.gap_through"
    loss: float
    exposure: float
    gap: float
    allowance: float
    symbols: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class DrawdownExited(DomainEvent):
    """The drawdown guard sold (or covered) `qty` to keep equity above its floor."""

    KIND: ClassVar[str] = "risk.drawdown_exit"
    symbol: str
    cause: str
    qty: int
    level: float
    price: Decimal
    floor: float
    budget: float
    move: float


@dataclass(frozen=True, slots=True)
class StopExited(DomainEvent):
    """A protective stop-loss or take-profit filled; the symbol is blocked until the strategy stops being long."""

    KIND: ClassVar[str] = "risk.stop_exit"
    symbol: str
    order_id: str
    leg: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class QuoteMarked(DomainEvent):
    """The live loop marked the book at quotes between bar closes: the equity the loss limits saw then.

    A resume replays it into the kill switch and the daily loss limit beside the cycles' equity, so a resumed run
    does not need the quotes again.
    """

    KIND: ClassVar[str] = "quote.marked"
    equity: float
    quoted: int
    source: str


@dataclass(frozen=True, slots=True)
class StopBlockCleared(DomainEvent):
    """The block after a protective exit cleared: the strategy's target is no longer long."""

    KIND: ClassVar[str] = "risk.stop_cleared"
    symbol: str
    target_weight: float


@dataclass(frozen=True, slots=True)
class PositionUnprotected(DomainEvent):
    """A held position got no protective pair (e.g. no ATR yet to set the stop from)."""

    KIND: ClassVar[str] = "risk.unprotected"
    symbol: str
    reason: str


# ---- the board's performance monitor and drift detector -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberDegraded(DomainEvent):
    """A board member's CUSUM alarm fired on its hit rate or Brier score: its weight is floored."""

    KIND: ClassVar[str] = "monitor.degraded"
    member: str
    timeframe: str
    tests: tuple[str, ...]
    cusum_hit: float
    cusum_brier: float
    design_effect: tuple[float, ...]
    reference_hit_rate: float
    reference_brier: float
    recent_hit_rate: float | None
    recent_brier: float | None
    n: int


@dataclass(frozen=True, slots=True)
class MemberRecovered(DomainEvent):
    """A degraded member scored back to its reference since the alarm."""

    KIND: ClassVar[str] = "monitor.recovered"
    member: str
    timeframe: str
    hit_rate_since_alarm: float
    brier_since_alarm: float
    n: int


@dataclass(frozen=True, slots=True)
class MonitorRecorded(DomainEvent):
    """A snapshot of every member's scored record, so reports can rebuild the table."""

    KIND: ClassVar[str] = "monitor.records"
    records: tuple[Mapping[str, Any], ...]
    timeframes: tuple[Mapping[str, Any], ...]
    multipliers: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class WeightsProposed(DomainEvent):
    """Bounded changes of the members' ensemble weights, and whether they apply themselves."""

    KIND: ClassVar[str] = "monitor.proposal"
    proposals: tuple[Mapping[str, Any], ...]
    auto_apply: bool


@dataclass(frozen=True, slots=True)
class DriftChanged(DomainEvent):
    """The set of features whose live distribution drifted past the PSI threshold changed (cleared: none now)."""

    KIND: ClassVar[str] = "monitor.drift"
    cycle: int
    threshold: float
    window: int
    features: tuple[Mapping[str, Any], ...]
    cleared: bool


# ---- the fallback ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnknownEvent(DomainEvent):
    """A stored row this version cannot type (a foreign or future kind, or a payload that does not fit): kept as is."""

    stored_kind: str
    stored_payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The kind the row was stored under."""
        return self.stored_kind

    def to_dict(self) -> dict[str, Any]:
        """The payload exactly as it was read."""
        return dict(self.stored_payload)


# ---- the catalogue and the groups derived from it -------------------------------------------------------------

CATALOGUE: Mapping[str, type[DomainEvent]] = {
    cls.KIND: cls
    for cls in (
        CycleClosed,
        SignalChanged,
        OrderSubmitted,
        OrderFilled,
        HealthChanged,
        HaltChanged,
        TradingModeChanged,
        StrategyRebuilt,
        LiveRestarted,
        LiveScored,
        SplitApplied,
        DividendPaid,
        OrderCreated,
        OrderAccepted,
        OrderPartiallyFilled,
        OrderCompleted,
        OrderCancelled,
        OrderRejected,
        OrderExpired,
        OrderAmended,
        OrderTriggered,
        OrderActivated,
        OrderDenied,
        OrderReduced,
        OrderResized,
        KillSwitchFired,
        DailyLossLimitHit,
        PositionsFlattened,
        GapThrough,
        DrawdownExited,
        StopExited,
        StopBlockCleared,
        QuoteMarked,
        PositionUnprotected,
        MemberDegraded,
        MemberRecovered,
        MonitorRecorded,
        WeightsProposed,
        DriftChanged,
    )
}

#: Broker order transitions by kind (`order.<status>` plus amended, triggered, activated).
ORDER_TRANSITIONS: Mapping[str, type[OrderChanged]] = {
    kind: cls for kind, cls in CATALOGUE.items() if isinstance(cls, type) and issubclass(cls, OrderChanged)
}
#: Corporate actions: they move cash and positions, so `check` and a resume rebuild the ledger from them too.
ACTION_KINDS: tuple[str, ...] = (SplitApplied.KIND, DividendPaid.KIND)
#: What the ledger is rebuilt from: fills and corporate actions.
LEDGER_KINDS: tuple[str, ...] = (OrderFilled.KIND, *ACTION_KINDS)
#: The protective-stop blocks a resume rebuilds.
PROTECTION_KINDS: tuple[str, ...] = (StopExited.KIND, StopBlockCleared.KIND)
#: What a resumed run needs back: stop blocks, halts and resets, corporate actions, the trading mode.
RESTORE_KINDS: tuple[str, ...] = (
    *PROTECTION_KINDS,
    HaltChanged.KIND,
    *ACTION_KINDS,
    TradingModeChanged.KIND,
    QuoteMarked.KIND,
)
#: Sizing cuts, raises and denials by a risk rule.
SIZING_KINDS: tuple[str, ...] = (OrderDenied.KIND, OrderReduced.KIND, OrderResized.KIND)
#: The risk events the live stream sends as alerts: sizing, rejections, halts and the loss limits.
STREAM_RISK_KINDS: frozenset[str] = frozenset(
    {
        *SIZING_KINDS,
        OrderRejected.KIND,
        HaltChanged.KIND,
        KillSwitchFired.KIND,
        DailyLossLimitHit.KIND,
        PositionsFlattened.KIND,
    }
)
#: What the API lists as alerts: the stream's risk events, health changes and the drawdown guard's actions.
ALERT_KINDS: tuple[str, ...] = (
    *SIZING_KINDS,
    OrderRejected.KIND,
    HealthChanged.KIND,
    HaltChanged.KIND,
    KillSwitchFired.KIND,
    DailyLossLimitHit.KIND,
    PositionsFlattened.KIND,
    DrawdownExited.KIND,
    GapThrough.KIND,
)
#: The tear sheet's risk table: sizing, orders refused or ended unfilled, and health changes.
REPORT_RISK_KINDS: tuple[str, ...] = (
    *SIZING_KINDS,
    OrderRejected.KIND,
    OrderCancelled.KIND,
    OrderExpired.KIND,
    HealthChanged.KIND,
)
#: The board's performance monitor and drift detector.
MONITOR_KINDS: tuple[str, ...] = (
    MemberDegraded.KIND,
    MemberRecovered.KIND,
    MonitorRecorded.KIND,
    WeightsProposed.KIND,
    DriftChanged.KIND,
)
#: What the attribution section of the tear sheet reads: the signals with their votes and the monitor.
ATTRIBUTION_KINDS: tuple[str, ...] = (SignalChanged.KIND, *MONITOR_KINDS)
#: What the live state keeps and streams besides cycles (any other order.* and risk.* kind streams too).
STREAMED_KINDS: tuple[str, ...] = (
    OrderFilled.KIND,
    SignalChanged.KIND,
    *SIZING_KINDS,
    OrderRejected.KIND,
    HealthChanged.KIND,
    HaltChanged.KIND,
)


def event_from_record(ts: datetime, kind: str, payload: Mapping[str, Any]) -> DomainEvent:
    """The typed event of a stored row; an unknown kind or a payload that does not fit comes back as UnknownEvent."""
    cls = CATALOGUE.get(kind)
    if cls is not None:
        try:
            return cls.from_dict(ts, payload)
        except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError):
            pass
    return UnknownEvent(ts, kind, dict(payload))


def order_transition(kind: str, ts: datetime, **fields: Any) -> OrderChanged:
    """The broker's event for an order transition of `kind` (KeyError for a kind that is not one)."""
    return ORDER_TRANSITIONS[kind](ts, **fields)


# ---- encoding helpers -----------------------------------------------------------------------------------------


_FIELDS: dict[type, tuple[dataclasses.Field[Any], ...]] = {}
_HINTS: dict[type, dict[str, Any]] = {}


def _payload_fields(cls: type[DomainEvent]) -> tuple[dataclasses.Field[Any], ...]:
    """The dataclass fields stored in the payload: all but `ts`, in declaration order (cached per class)."""
    if cls not in _FIELDS:
        _FIELDS[cls] = tuple(f for f in dataclasses.fields(cls) if f.name != "ts")
    return _FIELDS[cls]


def _hints(cls: type[DomainEvent]) -> dict[str, Any]:
    """The resolved field types of an event class (cached per class)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _encode(value: Any) -> Any:
    """A field as the payload stored it: Decimals as str(), enums as their value, tuples as lists."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items()}
    return value


def _decode(hint: Any, value: Any) -> Any:
    """A stored payload value as the field's type (None stays None where the field allows it)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Decimal:
        if isinstance(value, bool | float) or value is None:
            raise TypeError(f"not a decimal string: {value!r}")
        return Decimal(str(value))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise TypeError(f"not a bool: {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"not an int: {value!r}")
        return value
    if hint is float:
        if value is None:
            return None  # a non-finite float is stored as null
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError(f"not a number: {value!r}")
        return value if isinstance(value, int | float) else float(value)
    if hint is str:
        if not isinstance(value, str):
            raise TypeError(f"not a string: {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise TypeError(f"not a list: {value!r}")
        item = args[0] if args else Any
        return tuple(_decode(item, v) for v in value)
    if hint is Any:
        return value
    if origin is Mapping or hint is Mapping:
        if not isinstance(value, Mapping):
            raise TypeError(f"not an object: {value!r}")
        return dict(value)
    return value
