"""Per-component health, so a failure degrades the system visibly instead of silently or fatally."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np


class Status(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """One component's state and why."""

    name: str
    status: Status
    message: str
    since: datetime
    failures: int = 0


class HealthBoard:
    """The latest health of every component; transitions are what the event log records."""

    def __init__(self) -> None:
        self._components: dict[str, ComponentHealth] = {}

    def set(self, name: str, status: Status, message: str, at: datetime) -> ComponentHealth | None:
        """Record a component's state; returns the new entry only when the status changed."""
        old = self._components.get(name)
        failures = 0 if status is Status.OK else (old.failures + 1 if old else 1)
        if old is not None and old.status is status:
            self._components[name] = ComponentHealth(name, status, message, old.since, failures)
            return None
        entry = ComponentHealth(name, status, message, at, failures)
        self._components[name] = entry
        return entry

    def ok(self, name: str, at: datetime) -> ComponentHealth | None:
        """Mark a component healthy."""
        return self.set(name, Status.OK, "ok", at)

    def snapshot(self) -> dict[str, ComponentHealth]:
        """Every component's latest state."""
        return dict(self._components)

    @property
    def overall(self) -> Status:
        """The worst status of any component."""
        statuses = {c.status for c in self._components.values()}
        for status in (Status.DOWN, Status.DEGRADED):
            if status in statuses:
                return status
        return Status.OK


class LatencyTracker:
    """Cycle wall-clock latencies in a bounded window, for p50/p99 on screen and in results."""

    def __init__(self, window: int = 10_000) -> None:
        self._values = np.zeros(window)
        self._count = 0

    def add(self, seconds: float) -> None:
        """Record one cycle's duration."""
        self._values[self._count % len(self._values)] = seconds
        self._count += 1

    def percentiles(self) -> dict[str, float]:
        """p50, p99 and max in milliseconds over the window (zeros before the first cycle)."""
        n = min(self._count, len(self._values))
        if n == 0:
            return {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "cycles": 0}
        sample = self._values[:n] * 1000
        return {
            "p50_ms": float(np.percentile(sample, 50)),
            "p99_ms": float(np.percentile(sample, 99)),
            "max_ms": float(sample.max()),
            "cycles": self._count,
        }
