"""SYNTHETIC data for the monitor's unit tests: random-walk closes and members that know the path.

A member here may "know the future" on purpose: the test, not the monitor, builds its opinions, so we can
dial its accuracy exactly and check what the monitor makes of it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from papertrader.core.arrays import Array
from papertrader.domain.events import DomainEvent
from papertrader.signals.monitor import PerformanceMonitor
from papertrader.signals.votes import Opinion, Timeframe

START = datetime(2020, 1, 2, 21, tzinfo=UTC)


def random_walk(t: int, n: int, seed: int) -> Array:
    """Synthetic closes (t, n): log-normal random walk starting at 100, never flat."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.01, size=(t, n))
    steps[np.abs(steps) < 1e-6] = 1e-4
    return np.asarray(100.0 * np.exp(np.cumsum(steps, axis=0)), dtype=np.float64)


def oracle(
    member: str,
    closes: Array,
    horizon: int,
    accuracy: Callable[[int], float],
    seed: int,
    confidence: float = 0.7,
    timeframe: Timeframe = "short",
) -> Callable[[int], Opinion]:
    """A member that calls the true direction over `horizon` with probability accuracy(k), else the wrong one."""
    rng = np.random.default_rng(seed)
    t, n = closes.shape

    def opine(k: int) -> Opinion:
        if k + horizon >= t:
            return Opinion.silent(member, timeframe, n, "end of data")
        truth = closes[k + horizon] > closes[k]
        right = rng.random(n) < accuracy(k)
        says_up = np.where(right, truth, ~truth)
        p_up = np.where(says_up, confidence, 1.0 - confidence)
        return Opinion(member, timeframe, p_up, 1.0 - p_up, np.zeros(n, dtype=bool), lambda _i: "oracle")

    return opine


def coin(member: str, n: int, seed: int, timeframe: Timeframe = "trend") -> Callable[[int], Opinion]:
    """A member whose calls are fair coin flips, with random confidence in [0.5, 0.7]."""
    rng = np.random.default_rng(seed)

    def opine(_k: int) -> Opinion:
        conf = rng.uniform(0.5, 0.7, n)
        p_up = np.where(rng.random(n) < 0.5, conf, 1.0 - conf)
        return Opinion(member, timeframe, p_up, 1.0 - p_up, np.zeros(n, dtype=bool), lambda _i: "coin")

    return opine


def drive(
    monitor: PerformanceMonitor,
    closes: Array,
    members: list[Callable[[int], Opinion]],
    horizons: dict[str, int],
    until: int | None = None,
    start: int = 0,
) -> list[tuple[int, DomainEvent]]:
    """Feed bars start..until-1 (all by default) to the monitor; returns (bar, event) for every event emitted."""
    out: list[tuple[int, DomainEvent]] = []
    for k in range(start, closes.shape[0] if until is None else until):
        ts = START + timedelta(days=k)
        for event in monitor.observe(k, ts, closes[k], [m(k) for m in members], horizons):
            out.append((k, event))
    return out
