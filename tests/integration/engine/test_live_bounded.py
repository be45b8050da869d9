"""A bounded live panel (rows dropped in chunks, cycle numbers kept) trades exactly as one that keeps every bar,
as a replay of the same bars, and across a kill + resume: on real hourly bars, with protective stops."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from live_support import (
    LIVE_FROM,
    SYMBOLS,
    at,
    orchestrator,
    prepared_home,
    repository,
    stripped_state,
)

from papertrader.config.live import LiveSettings
from papertrader.config.settings import RiskSettings, Settings, StrategySettings
from papertrader.core.clock import SimClock
from papertrader.domain.sessions import NEW_YORK
from papertrader.engine.check import check_run
from papertrader.engine.cycle import CycleOutcome
from papertrader.engine.feed import RecordedFeed
from papertrader.engine.orchestrator import KEEP_MARGIN, LiveOrchestrator
from papertrader.engine.runner import RunRequest, run
from papertrader.persistence.repository import RunRepository

#: 364 hourly rows of history before LIVE_FROM: the bounded panel (185 rows kept, cut at 370) drops on day one
HISTORY_FROM = "2019-03-11"


def _settings(home: Path, panel_rows: int | None, history_days: int = 365) -> Settings:
    """Fast averages, stops on a 2-bar ATR (a 100-row tail), and the live panel bound (None: every bar kept)."""
    return Settings(
        home=home,
        strategy=StrategySettings(fast=5, slow=20),
        risk=RiskSettings(atr_period=2),
        live=LiveSettings(retrain_weekdays=(), panel_rows=panel_rows, history_days=history_days),
    )


def _events(repo: RunRepository, run_id: str, resumed: bool = False) -> list[tuple[str, str]]:
    """Every stored event but the live loop's own notes (restarts, uptime; and health, which a restart resets),
    payloads with the run id taken out."""
    skip = {"live.restarted", "live.score", *(("health",) if resumed else ())}
    return [
        (e.kind, str(sorted(e.to_dict().items())).replace(run_id, "RUN"))
        for e in repo.load_events(run_id)
        if e.kind not in skip
    ]


def _watch(box: dict[str, Any]) -> Any:
    """An on_cycle hook keeping the largest panel and the first kept cycle seen, and checking cycle numbers."""

    def on_cycle(outcome: CycleOutcome) -> None:
        orch: LiveOrchestrator = box["orch"]
        engine = orch.engine
        assert engine is not None
        # the cycle number stays the whole history's: the panel row it reads is k - base
        assert engine.panel.close_times[outcome.k - engine.base] == outcome.ts
        box["rows"] = max(box.get("rows", 0), len(engine.panel))
        box["bases"] = [*box.get("bases", []), engine.base]

    return on_cycle


@pytest.mark.slow
def test_a_bounded_live_panel_trades_as_an_unbounded_one_and_a_replay_across_drops_and_a_kill_and_resume(
    tmp_path: Path,
) -> None:
    home, bars = prepared_home(tmp_path, history_from=HISTORY_FROM)
    repo = repository(_settings(home, None))
    days = 3

    unbounded = orchestrator(
        _settings(home, None), RecordedFeed(bars), SimClock(at(LIVE_FROM, 6)), run_id="run-full", days=days
    )
    unbounded.run()
    assert unbounded.dropped_rows == 0

    settings = _settings(home, 0)
    box: dict[str, Any] = {}
    bounded = box["orch"] = orchestrator(
        settings, RecordedFeed(bars), SimClock(at(LIVE_FROM, 6)), run_id="run-kept", days=days, on_cycle=_watch(box)
    )
    bounded.run()
    assert bounded.engine is not None
    keep = bounded._keep_rows()
    assert keep == 121 + KEEP_MARGIN  # the construction window's 120 returns are the longest look-back here
    assert bounded.dropped_rows > 0 and bounded.engine.base == bounded.dropped_rows
    assert box["rows"] <= 2 * keep and box["bases"][0] == 0 and box["bases"][-1] > 0  # dropped mid-run
    assert stripped_state(repo, "run-kept") == stripped_state(repo, "run-full")
    assert _events(repo, "run-kept") == _events(repo, "run-full")

    # killed after the panel dropped rows; the resume reloads the whole history, drops again and ends the same
    clock = SimClock(at(LIVE_FROM, 6))
    killed: list[datetime] = []
    kill: dict[str, Any] = {}

    def kill_on_day_two(outcome: CycleOutcome) -> None:
        _watch(kill)(outcome)
        if not killed and outcome.ts.astimezone(NEW_YORK).date() > LIVE_FROM and outcome.ts.hour >= 16:
            assert kill["orch"].engine.base > 0
            killed.append(clock.now())
            raise KeyboardInterrupt

    victim = kill["orch"] = orchestrator(
        settings, RecordedFeed(bars), clock, run_id="run-victim", days=days, on_cycle=kill_on_day_two
    )
    with pytest.raises(KeyboardInterrupt):
        victim.run()
    after: dict[str, Any] = {}
    resumed = after["orch"] = orchestrator(
        settings,
        RecordedFeed(bars),
        SimClock(killed[0]),
        run_id="run-victim",
        days=2,
        resume=True,
        on_cycle=_watch(after),
    )
    resumed.run()
    assert resumed.dropped_rows > 0 and after["bases"][0] > 0  # cut at the start, before its first cycle
    assert stripped_state(repo, "run-victim") == stripped_state(repo, "run-full")
    assert _events(repo, "run-victim", resumed=True) == _events(repo, "run-full", resumed=True)
    assert check_run(repo, "run-victim").ok

    # and the live loop is the replay's engine
    start = datetime(2019, 5, 23, tzinfo=NEW_YORK)
    run(settings, RunRequest(SYMBOLS, "1h", start, start + timedelta(days=6), mode="replay", run_id="run-replay"))
    assert stripped_state(repo, "run-kept") == stripped_state(repo, "run-replay")


def _per_bar_work(tmp_path: Path, history_from: str) -> tuple[int, list[tuple[int, int, int]]]:
    """History rows at the start, and per live bar: the panel's rows, the feature rows held, the values streamed."""
    home, bars = prepared_home(tmp_path, history_from=history_from)
    settings = _settings(home, 0, history_days=4_000)
    work: list[tuple[int, int, int]] = []
    box: dict[str, Any] = {}

    def on_cycle(outcome: CycleOutcome) -> None:
        orch: LiveOrchestrator = box["orch"]
        engine, live = orch.engine, orch._live
        assert engine is not None and live is not None
        held = sum(v.shape[0] for v in engine.features.values())
        work.append((len(engine.panel), held, live.cells))

    box["orch"] = orch = orchestrator(
        settings, RecordedFeed(bars), SimClock(at(LIVE_FROM, 6)), days=2, on_cycle=on_cycle
    )
    orch.run()
    assert orch.engine is not None
    return orch.engine.end - len(work), work


@pytest.mark.slow
def test_per_bar_work_at_5000_rows_of_history_is_within_20_percent_of_at_500(tmp_path: Path) -> None:
    short_rows, short = _per_bar_work(tmp_path / "short", "2019-01-02")
    long_rows, long = _per_bar_work(tmp_path / "long", "2016-03-01")
    assert 500 <= short_rows < 1_000 and long_rows >= 5_000
    # what every bar touches: the panel it appends to and slices, the feature rows it grows and checks, and the
    # values streamed (deterministic measures; wall clock is never asserted)
    for i in range(3):
        mean_short = sum(w[i] for w in short) / len(short)
        mean_long = sum(w[i] for w in long) / len(long)
        assert abs(mean_long - mean_short) <= 0.2 * mean_short, (i, mean_short, mean_long)
        assert max(w[i] for w in long) <= 1.2 * max(w[i] for w in short)
