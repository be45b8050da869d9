"""The tear sheet's board attribution, rebuilt from stored events (monitor driven by SYNTHETIC members)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from papertrader.config.monitor import MonitorSettings
from papertrader.domain.events import DomainEvent, OrderDenied, SignalChanged, event_from_record
from papertrader.reports.attribution import attribution_section, hit_rate_history, monitor_summary
from papertrader.reports.tearsheet import TearSheetInput, render
from papertrader.signals.monitor import DEGRADED, PerformanceMonitor
from papertrader.signals.votes import Opinion, Timeframe

START = datetime(2020, 1, 2, 21, tzinfo=UTC)


def _synthetic_monitor_events(monitor: PerformanceMonitor, bars: int, n: int) -> list[DomainEvent]:
    """SYNTHETIC: a random walk and three members: lstm right 70% then 40% from bar 400, gru 65%, ppo a coin."""
    rng = np.random.default_rng(7)
    closes = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (bars, n)), axis=0))
    accuracy: dict[str, Callable[[int], float]] = {
        "lstm": lambda k: 0.7 if k < 400 else 0.4,
        "gru": lambda _k: 0.65,
        "ppo": lambda _k: 0.5,
    }
    timeframes: dict[str, Timeframe] = {"lstm": "short", "gru": "short", "ppo": "agent"}
    events: list[DomainEvent] = []
    for k in range(bars):
        opinions = []
        for name, acc in accuracy.items():
            tf = timeframes[name]
            if k + 1 >= bars:
                opinions.append(Opinion.silent(name, tf, n, "end"))
                continue
            truth = closes[k + 1] > closes[k]
            says_up = np.where(rng.random(n) < acc(k), truth, ~truth)
            p_up = np.where(says_up, 0.7, 0.3)
            opinions.append(Opinion(name, tf, p_up, 1.0 - p_up, np.zeros(n, dtype=bool), lambda _i: ""))
        events += monitor.observe(k, START + timedelta(days=k), closes[k], opinions, {})
    return events


def _stored(events: list[DomainEvent]) -> list[DomainEvent]:
    """Events as they come back from the database: payloads through JSON."""
    return [event_from_record(e.ts, e.kind, json.loads(json.dumps(e.payload))) for e in events]


def _vote(member: str, timeframe: str, p_up: float, weight: float) -> dict[str, object]:
    return {
        "member": member,
        "timeframe": timeframe,
        "p_up": p_up,
        "p_down": 1.0 - p_up,
        "exit": False,
        "weight": weight,
        "reason": "synthetic",
    }


def _signal(k: int, target: float, votes: list[dict[str, object]]) -> DomainEvent:
    return event_from_record(
        START + timedelta(days=k),
        "signal",
        {
            "symbol": "AAA",
            "source": "ensemble",
            "target_weight": target,
            "confidence": 0.6,
            "rationale": "board",
            "votes": votes,
        },
    )


@pytest.fixture(scope="module")
def board_run() -> tuple[PerformanceMonitor, list[DomainEvent]]:
    """A monitor over three synthetic members, one of which collapses, plus board signal events."""
    monitor = PerformanceMonitor(5, MonitorSettings(propose_every=20))
    monitor.proposals({"lstm": 0.4, "gru": 0.4, "ppo": 0.2})
    events = _synthetic_monitor_events(monitor, 700, 5)
    events += [
        _signal(1, 0.2, [_vote("lstm", "short", 0.7, 0.4), _vote("gru", "short", 0.4, 0.4)]),
        _signal(2, -0.1, [_vote("lstm", "short", 0.6, 0.4), _vote("gru", "short", 0.3, 0.4)]),
        _signal(3, 0.0, [_vote("ppo", "agent", float("nan"), 0.2)]),
    ]
    return monitor, _stored(events)


def test_summary_rebuilds_each_members_last_record_from_stored_events(
    board_run: tuple[PerformanceMonitor, list[DomainEvent]],
) -> None:
    monitor, events = board_run
    table = monitor_summary(events).set_index("member")
    assert list(table.index) == ["gru", "lstm", "ppo"]
    # the last snapshot came at bar 699 (every 20th cycle), the end of the run: it equals the live records
    for name, rec in monitor.records().items():
        assert table.loc[name, "n"] == rec.n
        assert table.loc[name, "hit_rate"] == pytest.approx(rec.hit_rate)
        assert table.loc[name, "brier"] == pytest.approx(rec.brier)
        assert table.loc[name, "ece"] == pytest.approx(rec.ece)
        assert table.loc[name, "pnl"] == pytest.approx(rec.pnl)
        assert bool(table.loc[name, "degraded"]) == rec.degraded
    alarms = sum(1 for e in events if e.kind == DEGRADED and e.payload["member"] == "lstm")
    assert table.loc["lstm", "alarms"] == alarms >= 1
    assert table.loc["lstm", "timeframe"] == "short" and table.loc["ppo", "timeframe"] == "agent"


def test_summary_counts_votes_weights_and_agreement_with_the_target(
    board_run: tuple[PerformanceMonitor, list[DomainEvent]],
) -> None:
    _monitor, events = board_run
    table = monitor_summary(events).set_index("member")
    assert table.loc["lstm", "votes"] == 2
    assert table.loc["lstm", "mean_weight"] == pytest.approx(0.4)
    assert table.loc["lstm", "agreement"] == pytest.approx(0.5)  # up with a long target, up with a short one
    assert table.loc["gru", "agreement"] == pytest.approx(0.5)
    assert table.loc["ppo", "votes"] == 0  # its only vote had no view
    assert table["last_proposed"].notna().all()


def test_section_shows_the_table_and_the_hit_rate_plot(board_run: tuple[PerformanceMonitor, list[DomainEvent]]) -> None:
    _monitor, events = board_run
    section = attribution_section(events)
    assert "<table>" in section and "lstm" in section and "gru" in section
    assert 'alt="rolling hit rate per member"' in section
    history = hit_rate_history(events)
    assert list(history.columns) == ["lstm", "gru", "ppo"] and len(history) == 35


def test_a_run_without_board_or_monitor_says_there_is_nothing_to_attribute() -> None:
    trend_only = [
        SignalChanged(START, "SPY", "trend", 0.25, 1.0, "trend: fast above slow"),
        OrderDenied(START, "SPY", "cash"),
    ]
    for events in ([], trend_only):
        section = attribution_section(events)
        assert "No board votes or monitor events" in section
        assert monitor_summary(events).empty


def test_the_tear_sheet_carries_the_attribution_section(
    board_run: tuple[PerformanceMonitor, list[DomainEvent]],
) -> None:
    _monitor, events = board_run
    index = pd.date_range("2020-01-02", periods=60, freq="B", tz="UTC")
    equity = pd.Series(np.linspace(100_000, 103_000, 60), index=index)
    data = TearSheetInput(
        run_id="synthetic",
        title="synthetic curves for a rendering test",
        equity=equity,
        exposure=pd.Series(0.5, index=index),
        benchmark=equity * 0.99,
        benchmark_exposure=pd.Series(1.0, index=index),
        closes=pd.DataFrame({"AAA": np.linspace(10, 11, 60)}, index=index),
        fills=(),
        events=events,
        periods_per_year=252,
    )
    page = render(data)
    assert "<h2>Board attribution</h2>" in page and "lstm" in page
    baseline = render(TearSheetInput(**{**data.__dict__, "events": ()}))
    assert "No board votes or monitor events" in baseline
