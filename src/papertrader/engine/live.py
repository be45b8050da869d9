"""An in-memory, thread-safe view of the running engine for the API and its WebSocket streams.

It subscribes to the engine's bus; the bus delivers in the loop's thread between state changes, so
snapshots taken there are consistent. Readers in other threads get immutable copies under a lock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from papertrader.domain.events import STREAMED_KINDS, CycleClosed, DomainEvent, LiveScored
from papertrader.engine.cycle import Engine

Listener = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class PositionView:
    """One open position marked at the latest close."""

    symbol: str
    qty: int
    avg_price: float
    mark: float
    market_value: float
    unrealized_pnl: float
    realized_pnl: float
    weight: float


@dataclass(frozen=True)
class Snapshot:
    """The account and system after the latest cycle."""

    run_id: str
    cycle: int
    ts: datetime | None
    cash: float
    equity: float
    gross_exposure: float
    peak_equity: float
    drawdown: float
    positions: tuple[PositionView, ...]
    working_orders: int
    health: dict[str, str]
    latency: dict[str, float]
    halted: str | None
    total_cycles: int
    observing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    #: the run's latest uptime and critical-failure score (a `live.score` payload), None before the first
    live_score: dict[str, Any] | None = None


class LiveState:
    """Latest snapshot, a bounded equity history and recent events of one running engine."""

    def __init__(self, engine: Engine, total_cycles: int, history: int = 5_000, recent: int = 500) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._total = total_cycles
        self._equity: deque[tuple[datetime, float]] = deque(maxlen=history)
        self._events: deque[DomainEvent] = deque(maxlen=recent)
        self._listeners: list[Listener] = []
        self._peak = float(engine.ledger.initial_cash)
        self._score: dict[str, Any] | None = None
        self._snapshot = self._take(-1, None)
        engine.bus.subscribe(self._on_event)

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call listener(kind, payload) for each cycle and streamed event; returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def snapshot(self) -> Snapshot:
        """The latest consistent snapshot."""
        with self._lock:
            return self._snapshot

    def equity_history(self) -> list[tuple[datetime, float]]:
        """(time, equity) of recent cycles, oldest first."""
        with self._lock:
            return list(self._equity)

    def recent_events(self, kinds: tuple[str, ...] | None = None) -> list[DomainEvent]:
        """Recent streamed events, oldest first, optionally of some kinds only."""
        with self._lock:
            return [e for e in self._events if kinds is None or e.kind in kinds]

    def _take(self, cycle: int, ts: datetime | None) -> Snapshot:
        engine = self._engine
        marks = engine.marks()
        value = engine.ledger.value(marks)
        equity = float(value.equity)
        self._peak = max(self._peak, equity)
        positions = tuple(
            PositionView(
                symbol=s,
                qty=p.qty,
                avg_price=float(p.avg_price),
                mark=float(marks[s]),
                market_value=float(marks[s] * p.qty),
                unrealized_pnl=float(p.unrealized(marks[s])),
                realized_pnl=float(p.realized_pnl),
                weight=float(marks[s] * p.qty) / equity if equity else 0.0,
            )
            for s, p in sorted(engine.ledger.positions.items())
        )
        return Snapshot(
            run_id=engine.run_id,
            cycle=cycle,
            ts=ts,
            cash=float(value.cash),
            equity=equity,
            gross_exposure=float(value.gross_exposure) / equity if equity else 0.0,
            peak_equity=self._peak,
            drawdown=equity / self._peak - 1.0 if self._peak else 0.0,
            positions=positions,
            working_orders=len(engine.broker.working),
            health={name: c.status.value for name, c in engine.health.snapshot().items()},
            latency=engine.latency.percentiles(),
            halted=engine.halted,
            total_cycles=self._total,
            observing=engine.observing,
            live_score=self._score,
        )

    def _on_event(self, event: DomainEvent) -> None:
        if isinstance(event, LiveScored):
            with self._lock:
                self._score = {"as_of": event.ts.isoformat(), **event.to_dict()}
                self._snapshot = replace(self._snapshot, live_score=self._score)
        elif isinstance(event, CycleClosed):
            snap = self._take(event.cycle, event.ts)
            with self._lock:
                self._snapshot = snap
                self._equity.append((event.ts, snap.equity))
                listeners = list(self._listeners)
            payload = {"cycle": snap.cycle, "ts": event.ts.isoformat(), "equity": snap.equity, "cash": snap.cash}
            for listener in listeners:
                listener("cycle", payload)
        elif event.kind in STREAMED_KINDS or event.kind.startswith(("order.", "risk.")):
            with self._lock:
                self._events.append(event)
                listeners = list(self._listeners)
            data = {"ts": event.ts.isoformat(), **event.to_dict()}
            for listener in listeners:
                listener(event.kind, data)
