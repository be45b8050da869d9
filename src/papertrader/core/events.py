"""An in-process publish/subscribe bus, so the API and persistence hear the engine without coupling."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened at a point of simulated or wall time, with a JSON-able payload."""

    ts: datetime
    kind: str
    payload: Mapping[str, Any] = field(default_factory=dict)


Handler = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out; a failing subscriber is logged and never stops the cycle."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, handler: Handler, kind: str = "*") -> Callable[[], None]:
        """Register a handler for one kind ('*' for all); returns a function that unsubscribes it."""
        self._handlers[kind].append(handler)
        return lambda: self._handlers[kind].remove(handler)

    def publish(self, event: Event) -> None:
        """Deliver the event to its kind's handlers, then to the catch-all ones."""
        for handler in (*self._handlers.get(event.kind, ()), *self._handlers.get("*", ())):
            try:
                handler(event)
            except Exception:
                log.exception("event handler %r failed on %s", handler, event.kind)
