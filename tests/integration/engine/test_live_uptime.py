"""A live run scores its uptime and critical failures (the trial's rules), stores them and reports them daily."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from live_support import LIVE_FROM, at, live_settings, orchestrator, prepared_home, repository

from papertrader.core.clock import SimClock
from papertrader.domain.events import LiveRestarted, LiveScored
from papertrader.engine.cycle import CycleOutcome
from papertrader.engine.feed import RecordedFeed
from papertrader.engine.live import LiveState


def test_a_clean_live_day_is_fully_up_with_no_critical_failure_in_the_report_the_summary_and_the_live_state(
    tmp_path: Path,
) -> None:
    home, bars = prepared_home(tmp_path)
    settings = live_settings(home)
    states: list[LiveState] = []
    orch = orchestrator(
        settings,
        RecordedFeed(bars),
        SimClock(at(LIVE_FROM, 6)),
        run_id="clean",
        days=2,
        on_engine=lambda engine, _total: states.append(LiveState(engine, 0)),
    )
    result = orch.run()

    assert result.live_score is not None
    assert result.live_score["uptime"] == 1.0 and result.live_score["critical_failures"] == []
    assert result.live_score["scheduled"] == result.cycles == result.live_score["up"]
    stored = repository(settings).get_run("clean")
    assert stored is not None and stored.summary is not None
    assert stored.summary["live_score"] == result.live_score
    day = json.loads(next(p for p in result.reports if p.suffix == ".json").read_text())
    assert day["live_score"]["uptime"] == 1.0 and day["live_score"]["scheduled"] == day["cycles"]
    page = next(p for p in result.reports if p.suffix == ".html").read_text()
    assert "Live uptime and critical failures" in page and "100.00%" in page
    snap = states[0].snapshot()
    assert snap.live_score is not None and snap.live_score["uptime"] == 1.0
    scored = repository(settings).load_events("clean", [LiveScored.KIND])  # day 1's score, committed with day 2
    assert scored and isinstance(scored[0], LiveScored) and scored[0].critical_failures == ()


def test_a_crashed_live_run_scores_the_crash_and_its_late_catch_up_after_resume(tmp_path: Path) -> None:
    home, bars = prepared_home(tmp_path)
    settings = live_settings(home)
    clock = SimClock(at(LIVE_FROM, 6))
    died: list[datetime] = []

    def crash_at_noon(outcome: CycleOutcome) -> None:
        if not died and outcome.ts >= at(LIVE_FROM, 12):
            died.append(clock.now())
            raise RuntimeError("simulated crash")

    victim = orchestrator(settings, RecordedFeed(bars), clock, run_id="crash", days=1, on_cycle=crash_at_noon)
    with pytest.raises(RuntimeError):
        victim.run()
    assert victim.result.live_score is not None
    assert "run raised: simulated crash" in victim.result.live_score["critical_failures"]

    # back two bars later: the closes in between are stepped late (held), which the score counts as down
    resumed = orchestrator(
        settings, RecordedFeed(bars), SimClock(at(LIVE_FROM, 14, 30)), run_id="crash", days=1, resume=True
    )
    result = resumed.run()
    score = result.live_score
    assert score is not None
    restarts = repository(settings).load_events("crash", [LiveRestarted.KIND])
    assert [(e.clean, e.previous_status) for e in restarts if isinstance(e, LiveRestarted)] == [(False, "failed")]
    assert score["scheduled"] == 7 and score["missed_closes"] == 0
    assert score["up"] == 5  # 13:00 and 14:00 ran only at the 14:30 resume
    assert any(
        f.startswith("run stopped without closing (crash or kill) 1 time(s)") for f in score["critical_failures"]
    )
