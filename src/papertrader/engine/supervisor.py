"""Fast restart of a live run: run it as a child process and start it again with `--resume` after an unclean exit.

A live run stopped by a crash or a kill (SIGKILL, the OOM killer) is resumed from its last committed cycle only
when something starts it again; every bar close that falls due meanwhile is down in the live score. The
supervisor is that something, seconds after the exit instead of whenever an operator notices:

* the child's exit code 0 is a clean stop (its sessions finished, or it was asked to stop): not restarted;
* any other exit (an exception, a signal such as SIGKILL) is restarted, after a capped exponential backoff
  (`RestartPolicy`: 2 s, 4 s, 8 s ... up to a minute; a child that ran longer than the crash window starts the
  backoff over), by calling `launch(restarts)` again: the caller adds `--resume`;
* a crash loop (more than `max_restarts` unclean exits within `window_s`) gives up with a message saying so and
  how to resume by hand; a service manager (systemd `Restart=on-failure`, docs/operation.md) may take it from there;
* a stop request (SIGINT/SIGTERM to the supervisor, `should_stop`) is forwarded to the child once as SIGTERM
  (the child commits its current cycle and stops cleanly) and nothing is restarted after it.

Backoff waits run on the injected clock (a SimClock in tests: no real sleeps); waiting for the child itself is
waiting for a real process.
"""

from __future__ import annotations

import logging
import signal
import subprocess
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from papertrader.core.clock import Clock

log = logging.getLogger(__name__)

#: how often the supervisor looks for a stop request while its child runs (real seconds)
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class RestartPolicy:
    """How fast an unclean exit is restarted, and how many restarts in how long make a crash loop."""

    first_backoff_s: float = 2.0
    max_backoff_s: float = 60.0
    max_restarts: int = 5
    window_s: float = 600.0

    def __post_init__(self) -> None:
        if self.first_backoff_s < 0 or self.max_backoff_s < self.first_backoff_s:
            raise ValueError("backoff must satisfy 0 <= first_backoff_s <= max_backoff_s")
        if self.max_restarts < 0 or self.window_s <= 0:
            raise ValueError("max_restarts must be >= 0 and window_s > 0")

    def backoff(self, crashes: int) -> float:
        """Seconds to wait before restarting after the `crashes`-th unclean exit in a row: doubling, capped."""
        return float(min(self.first_backoff_s * 2 ** max(crashes - 1, 0), self.max_backoff_s))


class Child(Protocol):
    """The running child process (a `subprocess.Popen`)."""

    def wait(self, timeout: float | None = None) -> int:
        """Its exit code; raises subprocess.TimeoutExpired while it still runs after `timeout` seconds."""
        ...

    def send_signal(self, sig: int) -> None:
        """Deliver a signal to it."""
        ...


#: start the child; the argument is how many restarts came before (0: the first start, >0: resume it)
Launch = Callable[[int], Child]


@dataclass(frozen=True)
class Supervised:
    """How supervision ended: `clean` (exit 0), `stopped` (asked to stop) or `gave_up` (a crash loop)."""

    outcome: str
    restarts: int
    exits: tuple[int, ...]
    message: str


def describe_exit(code: int) -> str:
    """An exit code as an operator reads it: `exit code 1`, or `killed by SIGKILL` for a negative one."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    """Runs `launch` until a clean exit, a stop request or a crash loop (module docstring)."""

    def __init__(
        self,
        launch: Launch,
        clock: Clock,
        policy: RestartPolicy | None = None,
        should_stop: Callable[[], bool] | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.launch = launch
        self.clock = clock
        self.policy = policy or RestartPolicy()
        self._should_stop = should_stop or (lambda: False)
        self._say = say or log.warning

    def run(self) -> Supervised:
        """Start the child, restart it after each unclean exit (backoff on the clock), and say how it ended."""
        policy = self.policy
        window = timedelta(seconds=policy.window_s)
        crashes: deque[datetime] = deque()
        exits: list[int] = []
        in_a_row = 0
        while True:
            started = self.clock.now()
            code = self._wait(self.launch(len(exits)))
            exits.append(code)
            restarts = len(exits) - 1
            if code == 0:
                return Supervised("clean", restarts, tuple(exits), "the run stopped cleanly")
            if self._should_stop():
                return Supervised("stopped", restarts, tuple(exits), f"stopped on request ({describe_exit(code)})")
            now = self.clock.now()
            in_a_row = 1 if now - started >= window else in_a_row + 1
            crashes.append(now)
            while crashes and now - crashes[0] > window:
                crashes.popleft()
            if len(crashes) > policy.max_restarts:
                message = (
                    f"the run exited uncleanly {len(crashes)} times within {policy.window_s:.0f} s (last: "
                    f"{describe_exit(code)}): a crash loop, giving up; fix the cause, then resume it by hand "
                    "(`papertrader paper --live --resume --run-id RUN_ID`)"
                )
                self._say(message)
                return Supervised("gave_up", restarts, tuple(exits), message)
            wait = policy.backoff(in_a_row)
            self._say(f"the run stopped uncleanly ({describe_exit(code)}); restarting it with --resume in {wait:g} s")
            if not self._sleep(wait):
                return Supervised("stopped", restarts, tuple(exits), "stopped on request while waiting to restart")

    def _wait(self, child: Child) -> int:
        """Wait for the child's exit, forwarding one SIGTERM when a stop is requested (and another on Ctrl-C)."""
        forwarded = False
        while True:
            try:
                return child.wait(timeout=POLL_SECONDS)
            except subprocess.TimeoutExpired:
                if not forwarded and self._should_stop():
                    child.send_signal(signal.SIGTERM)  # the child commits its cycle and stops cleanly
                    forwarded = True
            except KeyboardInterrupt:  # asked again: the child aborts too (its second signal), then we go
                child.send_signal(signal.SIGTERM)
                child.wait()
                raise

    def _sleep(self, seconds: float) -> bool:
        """Back off on the clock in short steps; False when a stop is requested meanwhile."""
        until = self.clock.now() + timedelta(seconds=seconds)
        while (left := (until - self.clock.now()).total_seconds()) > 0:
            if self._should_stop():
                return False
            self.clock.sleep(min(left, POLL_SECONDS * 5))
        return not self._should_stop()
