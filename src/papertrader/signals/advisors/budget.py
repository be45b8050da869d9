"""A daily request budget per advisor, reserved before each request, safe across threads and processes.

Spending is real money, so the day is the UTC day of the injected clock (a WallClock outside tests). A slot
is taken before the request is sent and never given back, so a crash between reserving and sending can only
under-spend. With a `path`, usage is kept in a small JSON file guarded by an exclusive file lock (filelock:
flock on POSIX, msvcrt on Windows) and a thread lock, so restarts and parallel processes on one machine
share the same count.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from papertrader.core.clock import Clock


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """Usage today."""

    day: str
    used: int
    limit: int

    @property
    def remaining(self) -> int:
        """Requests still allowed today."""
        return max(0, self.limit - self.used)


class DailyBudget:
    """At most `limit` reservations per UTC day of `clock`."""

    def __init__(self, limit: int, clock: Clock, path: Path | None = None) -> None:
        if limit < 0:
            raise ValueError("a daily budget cannot be negative")
        self.limit = limit
        self._clock = clock
        self._path = path
        self._lock = threading.Lock()
        self._day = ""
        self._used = 0

    def _today(self) -> str:
        return self._clock.now().date().isoformat()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if self._path is None:
                yield
                return
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(self._path.with_suffix(".lock")):
                self._read()
                yield

    def _read(self) -> None:
        assert self._path is not None
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            self._day, self._used = str(data["day"]), int(data["used"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            self._day, self._used = "", 0

    def _write(self) -> None:
        if self._path is None:
            return
        tmp = self._path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"day": self._day, "used": self._used}), encoding="utf-8")
        os.replace(tmp, self._path)

    def reserve(self) -> bool:
        """Take one request slot for today; False (nothing taken) when today's budget is spent."""
        with self._locked():
            today = self._today()
            if today != self._day:
                self._day, self._used = today, 0
            if self._used >= self.limit:
                return False
            self._used += 1
            self._write()
            return True

    def status(self) -> BudgetStatus:
        """Today's usage."""
        with self._locked():
            today = self._today()
            used = self._used if today == self._day else 0
            return BudgetStatus(today, used, self.limit)
