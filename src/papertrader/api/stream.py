"""The WebSocket stream: engine-thread events handed to asyncio, fanned out to per-client bounded outboxes.

Hand-off: LiveState calls `StreamHub.on_engine` in the engine thread. It only appends to a bounded pending
buffer under a lock and, at most once until the loop has drained it, schedules `_flush` on the event loop
with `loop.call_soon_threadsafe`; the engine never waits for a client. Cycle updates are coalesced twice:
the hub builds one cycle message per flush (at most `max_rate` per second) from the newest snapshot, and each
client's outbox keeps only the latest cycle message. Events (fills, signals, risk, health, control) go to a
bounded deque per client; a client that falls so far behind that events are dropped gets a fresh snapshot
(a resync) instead of the stale backlog. Nothing grows without bound, however slow a client is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from papertrader.api.auth import SUBPROTOCOL, BearerAuth, offered_subprotocols
from papertrader.api.context import NO_RUNS, ApiContext
from papertrader.api.schemas import (
    AuditEntry,
    ControlEvent,
    ControlMessage,
    ControlView,
    CycleMessage,
    FillEvent,
    FillMessage,
    HealthEvent,
    HealthMessage,
    RiskMessage,
    SignalMessage,
    SnapshotMessage,
    StreamSnapshot,
)
from papertrader.api.views.alerts import alert_view
from papertrader.api.views.control import control_view
from papertrader.api.views.health import health_view
from papertrader.api.views.live import cycle_data
from papertrader.api.views.portfolio import portfolio_view
from papertrader.api.views.signals import signal_view
from papertrader.domain.events import STREAM_RISK_KINDS, HealthChanged, OrderFilled, event_from_record

log = logging.getLogger(__name__)

#: WebSocket close code 1003: the endpoint received a kind of data it cannot accept (RFC 6455).
UNSUPPORTED_DATA = 1003


@dataclass(frozen=True, slots=True)
class Resync:
    """Send a fresh snapshot, for this reason."""

    reason: str


class ClientQueue:
    """One client's outbox: the latest cycle message only, a bounded deque of events, and a resync flag."""

    def __init__(self, max_events: int = 256) -> None:
        self.max_events = max_events
        self.cycle: str | None = None
        self.events: deque[str] = deque()
        self.resync: str | None = None
        self.dropped = 0
        self.coalesced = 0
        self.sent = 0
        self.high_water = 0
        self._ready = asyncio.Event()

    def put_cycle(self, text: str) -> None:
        """Replace any unsent cycle message with this newer one."""
        if self.cycle is not None:
            self.coalesced += 1
        self.cycle = text
        self._ready.set()

    def put_event(self, text: str) -> None:
        """Queue an event; past the bound the oldest is dropped and the client will be resynchronised."""
        if len(self.events) >= self.max_events:
            self.events.popleft()
            self.dropped += 1
        self.events.append(text)
        self.high_water = max(self.high_water, len(self.events))
        self._ready.set()

    def request_resync(self, reason: str) -> None:
        """Ask for a full snapshot before anything else."""
        self.resync = reason
        self._ready.set()

    def depth(self) -> int:
        """Messages waiting (cycle counts as one)."""
        return len(self.events) + (self.cycle is not None) + (self.resync is not None)

    def take(self) -> str | Resync | None:
        """The next thing to send, without waiting."""
        if self.dropped:
            reason = f"{self.dropped} events dropped for a slow client"
            self.dropped = 0
            self.events.clear()
            self.cycle = None
            self.resync = None
            return Resync(reason)
        if self.resync is not None:
            reason, self.resync = self.resync, None
            self.events.clear()
            self.cycle = None
            return Resync(reason)
        if self.events:
            return self.events.popleft()
        if self.cycle is not None:
            text, self.cycle = self.cycle, None
            return text
        return None

    async def next(self) -> str | Resync:
        """Wait for the next thing to send."""
        while True:
            item = self.take()
            if item is not None:
                return item
            self._ready.clear()
            await self._ready.wait()


class StreamHub:
    """Fans engine events out to connected clients; safe to feed from any thread."""

    def __init__(
        self, context: ApiContext, max_pending: int = 2048, client_events: int = 256, max_rate: float = 20.0
    ) -> None:
        self.context = context
        self.client_events = client_events
        self.min_interval = 1.0 / max_rate if max_rate > 0 else 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: set[ClientQueue] = set()
        self._lock = threading.Lock()
        self._connected = 0
        self._pending: deque[tuple[str, dict[str, Any]]] = deque()
        self._max_pending = max_pending
        self._pending_dropped = 0
        self._cycle_dirty = False
        self._scheduled = False
        self._last_flush = 0.0
        self.flushes = 0

    # ---- lifecycle (loop thread) --------------------------------------------------------------

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver to this event loop from now on."""
        with self._lock:
            self._loop = loop

    def unbind(self) -> None:
        """Stop delivering (server shutting down)."""
        with self._lock:
            self._loop = None
            self._pending.clear()
            self._scheduled = False

    def register(self) -> ClientQueue:
        """A new client's outbox."""
        client = ClientQueue(self.client_events)
        self._clients.add(client)
        with self._lock:
            self._connected = len(self._clients)
        return client

    def unregister(self, client: ClientQueue) -> None:
        """Forget a disconnected client."""
        self._clients.discard(client)
        with self._lock:
            self._connected = len(self._clients)

    @property
    def clients(self) -> tuple[ClientQueue, ...]:
        """Connected clients (for tests and diagnostics)."""
        return tuple(self._clients)

    # ---- producers (any thread) ---------------------------------------------------------------

    def on_engine(self, kind: str, payload: dict[str, Any]) -> None:
        """LiveState listener, called in the engine thread: buffer and schedule, never block."""
        if kind != "cycle" and kind not in ("fill", "signal", "health") and kind not in STREAM_RISK_KINDS:
            return
        self._post(kind, payload)

    def post_control(self, entry: AuditEntry, state: ControlView) -> None:
        """An operator action, from a worker thread: every client learns the new control state."""
        self._post("control", {"entry": entry.model_dump(mode="json"), "state": state.model_dump(mode="json")})

    def _post(self, kind: str, payload: dict[str, Any]) -> None:
        with self._lock:
            loop = self._loop
            if loop is None or self._connected == 0:
                return
            if kind == "cycle":
                self._cycle_dirty = True
            else:
                if len(self._pending) >= self._max_pending:
                    self._pending.popleft()
                    self._pending_dropped += 1
                self._pending.append((kind, payload))
            if self._scheduled:
                return
            self._scheduled = True
        try:
            loop.call_soon_threadsafe(self._schedule_flush)
        except RuntimeError:  # the loop closed while the engine kept running
            with self._lock:
                self._scheduled = False

    # ---- delivery (loop thread) ---------------------------------------------------------------

    def _schedule_flush(self) -> None:
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._last_flush + self.min_interval - loop.time())
        if delay:
            loop.call_later(delay, self._flush)
        else:
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            pending = list(self._pending)
            self._pending.clear()
            dirty, self._cycle_dirty = self._cycle_dirty, False
            dropped, self._pending_dropped = self._pending_dropped, 0
            self._scheduled = False
        self._last_flush = asyncio.get_running_loop().time()
        self.flushes += 1
        texts = [t for t in (self._event_text(kind, payload) for kind, payload in pending) if t is not None]
        cycle_text = self._cycle_text() if dirty else None
        for client in self._clients:
            if dropped:
                client.request_resync(f"{dropped} events dropped before delivery")
            for text in texts:
                client.put_event(text)
            if cycle_text is not None:
                client.put_cycle(cycle_text)

    def _cycle_text(self) -> str | None:
        data = cycle_data(self.context)
        return None if data is None else CycleMessage(data=data).model_dump_json()

    def _event_text(self, kind: str, payload: dict[str, Any]) -> str | None:
        """One typed message per engine event; a malformed payload is logged and skipped."""
        try:
            if kind == "control":
                entry = AuditEntry.model_validate(payload["entry"])
                state = ControlView.model_validate(payload["state"])
                return ControlMessage(data=ControlEvent(entry=entry, state=state)).model_dump_json()
            event = event_from_record(_ts(payload.get("ts")), kind, {k: v for k, v in payload.items() if k != "ts"})
            if kind == "fill":
                if not isinstance(event, OrderFilled):
                    raise ValueError(f"a fill event that does not fit its class: {payload}")
                fill = FillEvent(
                    ts=event.ts,
                    order_id=event.order_id,
                    seq=event.seq,
                    symbol=event.symbol,
                    side=event.side.value,
                    qty=event.qty,
                    price=float(event.price),
                    fee=float(event.fee),
                )
                return FillMessage(data=fill).model_dump_json()
            if kind == "signal":
                return SignalMessage(data=signal_view(event)).model_dump_json()
            if kind == "health":
                if isinstance(event, HealthChanged):
                    component, status, message = event.component, event.status, event.message
                else:  # a health row from another version: show what it has
                    p = event.payload
                    component, status, message = (str(p.get(k, "")) for k in ("component", "status", "message"))
                health = HealthEvent(ts=event.ts, component=component, status=status, message=message)
                return HealthMessage(data=health).model_dump_json()
            return RiskMessage(data=alert_view(event)).model_dump_json()
        except (KeyError, TypeError, ValueError):
            log.exception("could not turn a %s event into a stream message", kind)
            return None

    def snapshot_text(self, reason: str) -> str:
        """A full snapshot message (reads the database: call it in a worker thread)."""
        context = self.context
        note = None
        try:
            portfolio = portfolio_view(context, None)
        except Exception as exc:  # a 404 when nothing is stored yet
            portfolio = None
            note = getattr(exc, "detail", None) or NO_RUNS
        snapshot = StreamSnapshot(
            reason=reason,
            portfolio=portfolio,
            control=control_view(context),
            health=health_view(context),
            note=note,
        )
        return SnapshotMessage(data=snapshot).model_dump_json()


def _ts(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    """Browsers send Origin: accept same-origin and configured origins; tools send none."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    if origin in allowed:
        return True
    return urlsplit(origin).netloc.lower() == websocket.headers.get("host", "").lower()


async def _deny(websocket: WebSocket, code: int, detail: str) -> None:
    """Refuse the handshake with an HTTP status when the server supports it, else a close code 4000+status."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse({"detail": detail}, status_code=code))
    else:
        await websocket.close(code=4000 + code, reason=detail)


def stream_endpoint(hub: StreamHub, auth: BearerAuth, allowed_origins: list[str]) -> Callable[[WebSocket], Any]:
    """The /api/v1/stream handler bound to one hub."""

    async def stream(websocket: WebSocket) -> None:
        if not origin_allowed(websocket, allowed_origins):
            await _deny(websocket, 403, "origin not allowed")
            return
        if not auth.websocket_ok(websocket):
            await _deny(websocket, 401, "missing or wrong API token (?token= or subprotocol bearer.<token>)")
            return
        offered = offered_subprotocols(websocket)
        await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        client = hub.register()
        client.request_resync("connect")
        sender = asyncio.create_task(_pump(websocket, hub, client))
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:  # a binary frame: the protocol is JSON text, say so once and hang up
                    log.warning("stream: closed a client that sent a binary frame (the stream takes JSON text only)")
                    await websocket.close(code=UNSUPPORTED_DATA, reason="JSON text frames only")
                    break
                if _wants_resync(text):
                    client.request_resync("requested by the client")
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            hub.unregister(client)
            sender.cancel()

    return stream


def _wants_resync(text: str) -> bool:
    try:
        message = json.loads(text)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("type") == "resync"


async def _pump(websocket: WebSocket, hub: StreamHub, client: ClientQueue) -> None:
    """Send the client's outbox in order; awaiting each send is what lets a slow client fall behind safely."""
    try:
        while True:
            item = await client.next()
            text = await run_in_threadpool(hub.snapshot_text, item.reason) if isinstance(item, Resync) else item
            await websocket.send_text(text)
            client.sent += 1
    except (WebSocketDisconnect, RuntimeError, OSError):
        return
    except Exception:
        log.exception("stream to a client failed")
        with contextlib.suppress(RuntimeError):
            await websocket.close(code=1011)
