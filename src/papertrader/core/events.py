"""An in-process publish/subscribe bus, so the API and persistence hear the engine without coupling.

The bus carries anything with a time and a kind (`Published`); the typed events themselves are the catalogue in
`papertrader.domain.events`, above this layer.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Published(Protocol):
    """What the bus delivers: something that happened at `ts`, subscribed to by its `kind`."""

    @property
    def ts(self) -> datetime:
        """When it happened (simulated or wall time)."""
        ...

    @property
    def kind(self) -> str:
        """The kind handlers subscribe to."""
        ...


Handler = Callable[[Any], None]


class EventBus:
    """Synchronous fan-out; a failing subscriber is logged and never stops the cycle."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, handler: Handler, kind: str = "*") -> Callable[[], None]:
        """Register a handler for one kind ('*' for all); returns a function that unsubscribes it."""
        self._handlers[kind].append(handler)
        return lambda: self._handlers[kind].remove(handler)

    def wants(self, kind: str) -> bool:
        """Whether any handler listens to this kind: a publisher may skip building events nobody reads."""
        return bool(self._handlers.get(kind)) or bool(self._handlers.get("*"))

    def idle(self) -> bool:
        """Whether no handler listens to anything: a publisher may skip publishing (and building) altogether."""
        return not any(self._handlers.values())

    def publish(self, event: Published) -> None:
        """Deliver the event to its kind's handlers, then to the catch-all ones."""
        for handler in (*self._handlers.get(event.kind, ()), *self._handlers.get("*", ())):
            try:
                handler(event)
            except Exception:
                log.exception("event handler %r failed on %s", handler, event.kind)
