from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from papertrader.core.clock import SimClock
from papertrader.core.events import EventBus

T0 = datetime(2020, 1, 2, tzinfo=UTC)


@dataclass(frozen=True)
class Happened:
    """The bus needs only a time and a kind (core knows nothing of the domain's event catalogue)."""

    ts: datetime
    kind: str


def test_sim_clock_only_moves_forward_and_sleep_does_not_block() -> None:
    clock = SimClock(T0)
    clock.sleep(3600)
    assert clock.now() == T0 + timedelta(hours=1)
    with pytest.raises(ValueError):
        clock.advance_to(T0)


def test_sim_clock_rejects_naive_times() -> None:
    with pytest.raises(ValueError):
        SimClock(datetime(2020, 1, 1))


def test_bus_delivers_by_kind_and_survives_a_failing_handler() -> None:
    bus = EventBus()
    seen: list[str] = []

    def boom(_: Happened) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(boom, "fill")
    bus.subscribe(lambda e: seen.append("fill:" + e.kind), "fill")
    unsubscribe = bus.subscribe(lambda e: seen.append("all:" + e.kind))
    bus.publish(Happened(T0, "fill"))
    unsubscribe()
    bus.publish(Happened(T0, "cycle"))
    assert seen == ["fill:fill", "all:fill"]
