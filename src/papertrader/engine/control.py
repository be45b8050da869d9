"""Thread-safe run controls the API and signal handlers use to steer the loop between cycles."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

#: Replay speeds the loop accepts besides 0 (as fast as possible): from real time (1 market second per wall
#: second; slower is never useful and a tiny speed would turn one bar gap into centuries of waiting) up to 1e9.
MIN_SPEED = 1.0
MAX_SPEED = 1e9


def check_speed(speed: float) -> float:
    """The speed itself when the loop can honour it (0, or MIN_SPEED..MAX_SPEED); ValueError says why not."""
    if not math.isfinite(speed) or not (speed == 0 or MIN_SPEED <= speed <= MAX_SPEED):
        raise ValueError(f"speed must be 0 (as fast as possible) or between {MIN_SPEED:g} and {MAX_SPEED:g}")
    return speed


def bounded_wait(seconds: float) -> float:
    """A timeout threading accepts whatever the arithmetic gave (NaN or negative -> 0, huge -> the maximum)."""
    if not seconds > 0:
        return 0.0
    return min(seconds, threading.TIMEOUT_MAX)


@dataclass(frozen=True, slots=True)
class ControlState:
    """What the operator asked for, as of now."""

    paused: bool
    stopping: bool
    flatten_requested: bool
    speed: float


class RunControl:
    """Pause, resume, stop, flatten and replay speed; the loop reads them between cycles only."""

    def __init__(self, speed: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._running.set()
        self._stopping = False
        self._flatten = False
        self._reset = False
        self._mode: bool | None = None  # a pending switch to observe-only (True) or paper trading (False)
        self._speed = speed
        self._wake = threading.Event()

    def pause(self) -> None:
        """Finish the current cycle, then wait until resumed."""
        self._running.clear()

    def resume(self) -> None:
        """Continue after a pause."""
        self._running.set()

    def stop(self) -> None:
        """Finish the current cycle, commit it and end the run (it can be resumed later)."""
        with self._lock:
            self._stopping = True
        self._running.set()
        self._wake.set()

    def request_flatten(self) -> None:
        """Close every position at the next opportunity and take no new risk."""
        with self._lock:
            self._flatten = True

    def take_flatten(self) -> bool:
        """True once per flatten request: the loop acts on it and clears it."""
        with self._lock:
            wanted, self._flatten = self._flatten, False
            return wanted

    def request_reset(self) -> None:
        """Let a halted (flattened or kill-switched) run trade again; the API authenticates who asks."""
        with self._lock:
            self._reset = True

    def take_reset(self) -> bool:
        """True once per reset request."""
        with self._lock:
            wanted, self._reset = self._reset, False
            return wanted

    def request_mode(self, observe: bool) -> None:
        """Switch to observe-only (signals and risk run, no orders are sent) or back to paper trading."""
        with self._lock:
            self._mode = observe

    def take_mode(self) -> bool | None:
        """The pending mode switch, once (True = observe-only); None when nothing was asked."""
        with self._lock:
            wanted, self._mode = self._mode, None
            return wanted

    def pending_mode(self) -> bool | None:
        """The switch asked for and not yet applied (the API shows it until the next cycle)."""
        with self._lock:
            return self._mode

    def set_speed(self, speed: float) -> None:
        """Change replay speed (market seconds per wall second; 0 = as fast as possible)."""
        check_speed(speed)
        with self._lock:
            self._speed = speed
        self._wake.set()

    @property
    def speed(self) -> float:
        """Current replay speed."""
        with self._lock:
            return self._speed

    def should_stop(self) -> bool:
        """Whether the loop should end before the next cycle."""
        with self._lock:
            return self._stopping

    def wait_while_paused(self, timeout: float | None = None) -> bool:
        """Block while paused; returns True when running (or stopping), False on timeout."""
        return self._running.wait(timeout)

    def sleep(self, seconds: float) -> None:
        """Wait between replay cycles, cut short by stop or a speed change; never raises, whatever `seconds` is."""
        self._wake.clear()
        self._wake.wait(bounded_wait(seconds))

    def state(self) -> ControlState:
        """A consistent snapshot for the API."""
        with self._lock:
            return ControlState(not self._running.is_set(), self._stopping, self._flatten, self._speed)
