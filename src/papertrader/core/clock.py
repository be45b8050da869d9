"""Injected time: domain code asks a Clock, never the system, so backtests replay exactly."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current time (timezone-aware, UTC)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait, in whatever sense of time this clock keeps."""
        ...


def _require_aware(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("clock times must be timezone-aware")
    return ts.astimezone(UTC)


class SimClock:
    """A clock moved only by the engine, so a run is deterministic and never waits."""

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start)

    def now(self) -> datetime:
        """Return the simulated time."""
        return self._now

    def advance_to(self, ts: datetime) -> None:
        """Move time forward; moving backwards is a bug in the caller."""
        ts = _require_aware(ts)
        if ts < self._now:
            raise ValueError(f"SimClock cannot go back from {self._now} to {ts}")
        self._now = ts

    def sleep(self, seconds: float) -> None:
        """Simulated sleep: time jumps, nothing waits."""
        from datetime import timedelta

        self._now = self._now + timedelta(seconds=max(0.0, seconds))


class WallClock:
    """The real clock, for live paper trading and for pacing replays."""

    def now(self) -> datetime:
        """Return the system time in UTC."""
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for real."""
        if seconds > 0:
            time.sleep(seconds)
