"""The circuit breaker: closed → open after N failures → half-open after the cool-down → one trial decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from papertrader.core.clock import SimClock
from papertrader.core.errors import ConfigError
from papertrader.data.router import BreakerState, CircuitBreaker

T0 = datetime(2024, 3, 8, 15, tzinfo=UTC)


def breaker(threshold: int = 3, cooldown_s: float = 60) -> tuple[CircuitBreaker, SimClock]:
    clock = SimClock(T0)
    return CircuitBreaker("src", clock, failure_threshold=threshold, cooldown=timedelta(seconds=cooldown_s)), clock


def test_a_new_breaker_is_closed_and_lets_calls_through() -> None:
    b, _ = breaker()
    assert b.state is BreakerState.CLOSED and b.allow() and b.allow()


def test_it_opens_after_the_threshold_of_failures_in_a_row_and_refuses_calls() -> None:
    b, _ = breaker(threshold=3)
    b.failure()
    b.failure()
    before = b.state
    b.failure()
    assert before is BreakerState.CLOSED and b.state is BreakerState.OPEN and not b.allow()
    assert b.open_until == T0 + timedelta(seconds=60)


def test_a_success_resets_the_count_so_scattered_failures_never_open_it() -> None:
    b, _ = breaker(threshold=2)
    for _ in range(5):
        b.failure()
        b.success()
    assert b.state is BreakerState.CLOSED and b.failures == 0


def test_after_the_cooldown_exactly_one_trial_call_passes() -> None:
    b, clock = breaker(threshold=1, cooldown_s=30)
    b.failure()
    clock.advance_to(T0 + timedelta(seconds=29))
    assert not b.allow()
    clock.advance_to(T0 + timedelta(seconds=30))
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow() and not b.allow()  # a second caller waits for the trial's verdict


def test_a_successful_trial_closes_it() -> None:
    b, clock = breaker(threshold=1)
    b.failure()
    clock.advance_to(T0 + timedelta(minutes=5))
    assert b.allow()
    b.success()
    assert b.state is BreakerState.CLOSED and b.allow()


def test_a_failed_trial_opens_it_for_another_full_cooldown() -> None:
    b, clock = breaker(threshold=3, cooldown_s=60)
    for _ in range(3):
        b.failure()
    clock.advance_to(T0 + timedelta(seconds=61))
    assert b.allow()
    b.failure()  # one failure in half-open is enough
    assert b.state is BreakerState.OPEN and b.open_until == clock.now() + timedelta(seconds=60)


def test_a_quota_failure_opens_it_until_the_quota_resets() -> None:
    b, clock = breaker(threshold=3)
    midnight = T0 + timedelta(hours=9)
    b.failure(until=midnight)
    assert b.state is BreakerState.OPEN and b.open_until == midnight
    clock.advance_to(midnight - timedelta(seconds=1))
    assert not b.allow()
    clock.advance_to(midnight)
    assert b.allow()


def test_a_trial_released_without_verdict_lets_the_next_caller_try() -> None:
    b, clock = breaker(threshold=1)
    b.failure()
    clock.advance_to(T0 + timedelta(minutes=2))
    assert b.allow()
    b.release()
    assert b.allow()


def test_a_threshold_below_one_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        CircuitBreaker("src", SimClock(T0), failure_threshold=0)
