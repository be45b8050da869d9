"""Data faults in the live loop: timeouts, bad bars and stale symbols hold the cycle, show in health, lose nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from live_support import (
    LIVE_FROM,
    SYMBOLS,
    ScriptedFeed,
    at,
    live_settings,
    orchestrator,
    prepared_home,
    repository,
    stripped_state,
)

from papertrader.core.clock import SimClock
from papertrader.engine.check import check_run
from papertrader.engine.cycle import CycleOutcome
from papertrader.engine.feed import RecordedFeed


def _health_events(run_id: str, settings: object) -> list[tuple[datetime, str, str]]:
    repo = repository(settings)  # type: ignore[arg-type]
    return [
        (e.ts, str(e.payload["status"]), str(e.payload["message"]))
        for e in repo.load_events(run_id, ["health"])
        if e.payload.get("component") == "data"
    ]


def _orders_at(run_id: str, settings: object) -> set[datetime]:
    return {o.created_at for o in repository(settings).load_orders(run_id)}  # type: ignore[arg-type]


def test_a_feed_timeout_holds_the_cycles_marks_data_down_and_trading_resumes_with_catch_up(tmp_path: Path) -> None:
    home, bars = prepared_home(tmp_path)
    settings = live_settings(home, stale_after_bars=2)
    clock = SimClock(at(LIVE_FROM, 6))

    def script(now: datetime, feed: RecordedFeed) -> None:
        local = now.astimezone(at(LIVE_FROM, 0).tzinfo)
        feed.down = "TemporaryError: read timed out" if 11 <= local.hour < 14 else None

    seen: list[tuple[datetime, datetime, str | None]] = []

    def on_cycle(outcome: CycleOutcome) -> None:
        assert orch.engine is not None
        seen.append((outcome.ts, clock.now(), orch.engine.hold))

    orch = orchestrator(settings, ScriptedFeed(RecordedFeed(bars), script), clock, run_id="timeout", on_cycle=on_cycle)
    result = orch.run()

    # no cycle ran while every source was down; the missed bars were stepped (held) when data came back at 14:00
    assert [ts.astimezone(UTC) for ts, _, _ in seen] == [at(LIVE_FROM, h).astimezone(UTC) for h in range(10, 17)]
    caught_up = [ts for ts, now, hold in seen if now.astimezone(UTC) >= at(LIVE_FROM, 14).astimezone(UTC) and hold]
    assert caught_up == [at(LIVE_FROM, h).astimezone(UTC) for h in (11, 12, 13)]
    assert result.held_cycles == 3
    assert not _orders_at("timeout", settings) & set(caught_up), "a held cycle takes no new risk"

    health = _health_events("timeout", settings)
    statuses = [s for _, s, _ in health]
    assert "down" in statuses and statuses[-1] == "ok"
    assert any("read timed out" in m for _, s, m in health if s == "down")
    assert result.health["data"] == "ok"
    assert check_run(repository(settings), "timeout").ok


def test_a_bad_bar_is_quarantined_not_traded_and_the_cycle_holds(tmp_path: Path) -> None:
    home, bars = prepared_home(tmp_path)
    settings = live_settings(home)
    feed = RecordedFeed(bars)
    bad_ts = pd.Timestamp(at(LIVE_FROM, 11)).tz_convert("UTC")
    feed.corrupt[("AAPL", bad_ts)] = {"high": 1.0, "low": 500.0}  # high < low: a bad print
    clock = SimClock(at(LIVE_FROM, 6))
    holds: dict[datetime, str | None] = {}

    def on_cycle(outcome: CycleOutcome) -> None:
        assert orch.engine is not None
        holds[outcome.ts] = orch.engine.hold

    orch = orchestrator(settings, feed, clock, run_id="badbar", on_cycle=on_cycle)
    orch.run()

    bad_close = at(LIVE_FROM, 12).astimezone(UTC)
    assert holds[bad_close] is not None and "quarantined AAPL" in str(holds[bad_close])
    assert [ts for ts, hold in holds.items() if hold] == [bad_close]
    assert orch.engine is not None
    k = orch.engine.panel.close_times.index(bad_close)
    assert pd.isna(orch.engine.panel.prices.close[k, SYMBOLS.index("AAPL")]), "the bad bar never reaches the panel"
    quarantine = orch.lake.quarantine("AAPL", "1h")
    assert list(quarantine["reason"]) == ["high < low"]
    assert bad_close not in _orders_at("badbar", settings)
    statuses = [s for _, s, _ in _health_events("badbar", settings)]
    assert statuses[-2:] == ["degraded", "ok"]


def test_a_symbol_stale_past_the_threshold_is_down_and_recovers(tmp_path: Path) -> None:
    home, bars = prepared_home(tmp_path)
    settings = live_settings(home, stale_after_bars=2)
    clock = SimClock(at(LIVE_FROM, 6))

    def script(now: datetime, feed: RecordedFeed) -> None:
        local_hour = now.astimezone(at(LIVE_FROM, 0).tzinfo).hour
        feed.drop = {"IBM"} if 11 <= local_hour < 14 else set()

    orch = orchestrator(settings, ScriptedFeed(RecordedFeed(bars), script), clock, run_id="stale")
    result = orch.run()

    health = _health_events("stale", settings)
    assert [s for _, s, _ in health][-3:] == ["degraded", "down", "ok"]
    assert any("stale for 2+ bars: IBM" in m for _, s, m in health if s == "down")
    assert result.cycles == 7 and result.held_cycles == 3
    held = {at(LIVE_FROM, h).astimezone(UTC) for h in (11, 12, 13)}
    assert not _orders_at("stale", settings) & held


def test_a_killed_live_run_resumes_from_its_last_committed_cycle_and_ends_as_if_never_killed(tmp_path: Path) -> None:
    home, bars = prepared_home(tmp_path)
    settings = live_settings(home)
    reference = orchestrator(settings, RecordedFeed(bars), SimClock(at(LIVE_FROM, 6)), run_id="ref", days=2)
    reference.run()

    clock = SimClock(at(LIVE_FROM, 6))
    killed_at: list[datetime] = []

    def kill_after_ten(outcome: CycleOutcome) -> None:
        if len(killed_at) == 0 and outcome.k == victim_first + 9:
            killed_at.append(clock.now())
            raise KeyboardInterrupt  # the process dies right after the cycle committed

    victim = orchestrator(settings, RecordedFeed(bars), clock, run_id="victim", days=2, on_cycle=kill_after_ten)
    victim_first = _first_cycle(settings)
    with pytest.raises(KeyboardInterrupt):
        victim.run()
    repo = repository(settings)
    stored = repo.get_run("victim")
    assert stored is not None and stored.status.value == "interrupted" and stored.last_cycle == victim_first + 9

    resumed_clock = SimClock(killed_at[0])
    resumed = orchestrator(settings, RecordedFeed(bars), resumed_clock, run_id="victim", days=1, resume=True)
    resumed.run()
    assert stripped_state(repo, "victim") == stripped_state(repo, "ref")
    assert check_run(repo, "victim").ok


def _first_cycle(settings: object) -> int:
    """The panel index of the first live bar: the number of history bar times in the lake."""
    from papertrader.data.store import Lake

    lake = Lake(settings.lake_dir)  # type: ignore[attr-defined]
    stamps = lake.read_bars(list(SYMBOLS), "1h", None, at(LIVE_FROM, 0))["ts"]
    return int(stamps.nunique())
