"""Retry what is temporary, with capped exponential backoff and jitter, on the injected clock (all adapters)."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from papertrader.core.clock import Clock
from papertrader.core.errors import RateLimitedError, TemporaryError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a temporary failure."""

    attempts: int = 3
    base_s: float = 1.0
    max_s: float = 30.0
    max_retry_after_s: float = 60.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Wait before retry number `attempt` (0-based): half fixed, half jitter, capped."""
        ceiling = min(self.max_s, self.base_s * (2.0**attempt))
        return ceiling / 2 + rng.uniform(0.0, ceiling / 2)


def call_with_retry(fn: Callable[[], T], policy: RetryPolicy, clock: Clock, rng: random.Random, what: str) -> T:
    """Call fn; on TemporaryError wait and retry up to policy.attempts; a long Retry-After raises at once."""
    for attempt in range(policy.attempts):
        try:
            return fn()
        except RateLimitedError as exc:
            wait = exc.retry_after
            if attempt + 1 >= policy.attempts or (wait is not None and wait > policy.max_retry_after_s):
                raise
            delay = wait if wait is not None else policy.backoff(attempt, rng)
            log.warning("%s: throttled, retrying in %.1fs (%d/%d)", what, delay, attempt + 1, policy.attempts)
        except TemporaryError as exc:
            if attempt + 1 >= policy.attempts:
                raise
            delay = policy.backoff(attempt, rng)
            log.warning("%s: %s; retrying in %.1fs (%d/%d)", what, exc, delay, attempt + 1, policy.attempts)
        clock.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover
