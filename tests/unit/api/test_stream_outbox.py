"""Stream back-pressure: per-client outboxes coalesce cycles and bound events, and the hub never blocks the engine."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest
from api_support import etf_bars, record_run

from papertrader.api.context import ApiContext
from papertrader.api.schemas import CycleMessage, SnapshotMessage
from papertrader.api.stream import ClientQueue, Resync, StreamHub
from papertrader.engine.live import LiveState


def test_a_client_outbox_keeps_only_the_newest_cycle() -> None:
    queue = ClientQueue(max_events=8)
    for k in range(10_000):
        queue.put_cycle(f"cycle {k}")
    assert queue.depth() == 1 and queue.coalesced == 9_999
    assert queue.take() == "cycle 9999" and queue.take() is None


def test_events_are_bounded_and_an_overflow_turns_into_one_resync() -> None:
    queue = ClientQueue(max_events=8)
    for i in range(1_000):
        queue.put_event(f"fill {i}")
        queue.put_cycle(f"cycle {i}")
    assert queue.depth() <= 8 + 1 and queue.high_water == 8
    item = queue.take()
    assert isinstance(item, Resync) and "992 events dropped" in item.reason
    assert queue.take() is None, "the snapshot replaces the stale backlog"


def test_events_go_out_in_order_before_the_latest_cycle() -> None:
    queue = ClientQueue()
    queue.put_event("a")
    queue.put_cycle("c1")
    queue.put_event("b")
    queue.put_cycle("c2")
    assert [queue.take(), queue.take(), queue.take(), queue.take()] == ["a", "b", "c2", None]


def test_a_resync_request_comes_first_and_clears_the_backlog() -> None:
    queue = ClientQueue()
    queue.put_event("a")
    queue.request_resync("connect")
    assert queue.take() == Resync("connect") and queue.take() is None


def test_next_waits_until_something_arrives() -> None:
    async def scenario() -> str | Resync:
        queue = ClientQueue()
        waiter = asyncio.create_task(queue.next())
        await asyncio.sleep(0.01)
        assert not waiter.done()
        queue.put_cycle("c")
        return await asyncio.wait_for(waiter, 1)

    assert asyncio.run(scenario()) == "c"


def test_the_engine_thread_hands_off_without_waiting_and_clients_get_the_final_state(tmp_path: Path) -> None:
    """2 500 cycles from the engine thread with nobody draining: outboxes stay bounded, the newest cycle wins."""
    run = record_run(tmp_path, etf_bars("2011-01-01"), 0, run_id="hub", finish=False)
    run.engine.recorder = None  # measure the hand-off, not SQLite
    live = LiveState(run.engine, len(run.engine.panel))
    hub = StreamHub(ApiContext(run.settings, run.repo, live), client_events=64, max_rate=50)
    n = min(2_500, len(run.engine.panel))

    async def scenario() -> tuple[ClientQueue, float, int]:
        hub.bind(asyncio.get_running_loop())
        client = hub.register()
        live.add_listener(hub.on_engine)
        depths: list[int] = []
        done = threading.Event()
        started = time.perf_counter()
        elapsed: list[float] = []

        def engine_thread() -> None:
            for k in range(n):
                run.engine.step(k)
            elapsed.append(time.perf_counter() - started)
            done.set()

        threading.Thread(target=engine_thread).start()
        while not done.is_set():
            depths.append(client.depth())
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.2)  # the last scheduled flush
        depths.append(client.depth())
        return client, elapsed[0], max(depths)

    client, elapsed, deepest = asyncio.run(scenario())
    assert deepest <= 64 + 2, "an outbox never holds more than its bound plus one cycle and one resync"
    assert hub.flushes <= elapsed * 50 + 5, "at most max_rate cycle messages a second reach the clients"
    assert hub.flushes < n / 2
    assert client.coalesced > 0
    messages = []
    while (item := client.take()) is not None:
        text = hub.snapshot_text(item.reason) if isinstance(item, Resync) else item
        messages.append(json.loads(text))
    last = messages[-1]
    if last["type"] == "cycle":
        assert CycleMessage.model_validate(last).data.cycle == n - 1
    else:  # events overflowed the outbox: the client is resynchronised with a snapshot of the newest state
        assert SnapshotMessage.model_validate(last).data.portfolio.cycle == n - 1  # type: ignore[union-attr]


def test_without_clients_the_hub_drops_everything_at_once(tmp_path: Path) -> None:
    run = record_run(tmp_path, etf_bars("2000-06-01"), 0, run_id="idle", finish=False)
    hub = StreamHub(ApiContext(run.settings, run.repo, None))
    hub.on_engine("cycle", {"cycle": 1})
    hub.on_engine("fill", {"ts": "2000-01-03T00:00:00+00:00"})
    assert hub.flushes == 0


@pytest.mark.parametrize("kind", ["order.submitted", "order.accepted", "mystery"])
def test_chatty_order_events_are_not_streamed(tmp_path: Path, kind: str) -> None:
    run = record_run(tmp_path, etf_bars("2000-06-01"), 0, run_id="quiet", finish=False)
    hub = StreamHub(ApiContext(run.settings, run.repo, None))

    async def scenario() -> int:
        hub.bind(asyncio.get_running_loop())
        client = hub.register()
        hub.on_engine(kind, {"ts": "2000-01-03T00:00:00+00:00"})
        await asyncio.sleep(0.1)
        return client.depth()

    assert asyncio.run(scenario()) == 0
