"""The supervisor's restart rules on scripted children: backoff, crash-loop window, stop requests, exit wording."""

from __future__ import annotations

import signal
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from papertrader.core.clock import SimClock
from papertrader.engine.supervisor import RestartPolicy, Supervisor, describe_exit

T0 = datetime(2024, 3, 4, 14, 0, tzinfo=UTC)


class Scripted:
    """A child that runs `runs_for` simulated seconds on the clock, then exits with `code`."""

    def __init__(self, clock: SimClock, code: int, runs_for: float = 1.0) -> None:
        self.clock, self.code, self.runs_for = clock, code, runs_for
        self.signals: list[int] = []

    def wait(self, timeout: float | None = None) -> int:
        self.clock.sleep(self.runs_for)
        return self.code

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)


def test_backoff_doubles_from_the_first_wait_and_is_capped() -> None:
    policy = RestartPolicy(first_backoff_s=2, max_backoff_s=30)
    assert [policy.backoff(n) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]


def test_a_bad_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="backoff"):
        RestartPolicy(first_backoff_s=10, max_backoff_s=1)
    with pytest.raises(ValueError, match="max_restarts"):
        RestartPolicy(max_restarts=-1)


def test_crashes_spread_wider_than_the_window_never_make_a_crash_loop_and_restart_the_backoff() -> None:
    clock = SimClock(T0)
    codes = iter([1, 1, 1, 1, 0])
    said: list[str] = []
    policy = RestartPolicy(first_backoff_s=2, max_restarts=1, window_s=60)
    # each child runs two simulated minutes: longer than the window, so every crash is the first in a row
    outcome = Supervisor(lambda _n: Scripted(clock, next(codes), 120), clock, policy, say=said.append).run()
    assert (outcome.outcome, outcome.restarts) == ("clean", 4)
    assert all(m.endswith("in 2 s") for m in said)


def test_a_stop_while_backing_off_restarts_nothing() -> None:
    clock = SimClock(T0)
    launched: list[int] = []

    def launch(n: int) -> Scripted:
        launched.append(n)
        return Scripted(clock, -signal.SIGKILL)

    outcome = Supervisor(launch, clock, should_stop=lambda: clock.now() > T0 + timedelta(seconds=2)).run()
    assert outcome.outcome == "stopped" and launched == [0]


def test_a_stop_request_reaches_a_running_child_once_as_sigterm() -> None:
    clock = SimClock(T0)
    child = Scripted(clock, 0)
    polls = iter([True, True, False])

    def wait(timeout: float | None = None) -> int:
        if next(polls):
            raise subprocess.TimeoutExpired("child", timeout or 0)
        return 0

    child.wait = wait  # type: ignore[method-assign]
    outcome = Supervisor(lambda _n: child, clock, should_stop=lambda: True).run()
    assert outcome.outcome == "clean" and child.signals == [signal.SIGTERM]


def test_exit_codes_read_as_an_operator_reads_them() -> None:
    assert describe_exit(1) == "exit code 1"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
