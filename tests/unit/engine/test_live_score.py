"""Live uptime and critical failures follow the trial's definitions on crafted closes, cycles and events."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from papertrader.config.live import LiveSettings
from papertrader.domain.events import HaltChanged, HealthChanged, KillSwitchFired, LiveRestarted
from papertrader.domain.sessions import NEW_YORK
from papertrader.engine.live_score import ScheduledClose, down_closes, scheduled_closes, score_live

DAY = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)  # a Monday, 10:00 New York
DELAY = timedelta(seconds=20)
CLOSES = [ScheduledClose(DAY + timedelta(hours=h), DAY + timedelta(hours=h) + DELAY) for h in range(6)]
ALL = [c.close for c in CLOSES]


def test_every_close_committed_with_nothing_down_is_full_uptime_and_no_failure() -> None:
    score = score_live(DAY + timedelta(hours=7), CLOSES, ALL, [])
    assert (score.scheduled, score.up, score.uptime, score.missed_closes) == (6, 6, 1.0, 0)
    assert score.critical_failures == ()


def test_a_close_with_no_cycle_is_down_and_a_critical_failure() -> None:
    score = score_live(DAY + timedelta(hours=7), CLOSES, ALL[:2] + ALL[3:], [])
    assert (score.up, score.missed_closes) == (5, 1)
    assert score.critical_failures == ("1 scheduled bar close(s) had no cycle",)


def test_a_component_down_at_a_close_makes_that_close_down_until_it_recovers() -> None:
    events = [
        HealthChanged(CLOSES[1].due, "data", "down", "every source failed"),
        HealthChanged(CLOSES[3].due + timedelta(seconds=1), "data", "ok", "ok"),
    ]
    score = score_live(DAY + timedelta(hours=7), CLOSES, ALL, events)
    assert score.up == 3  # closes 1, 2 and 3 were down: close 3 was due before the recovery
    assert score.uptime == 3 / 6
    assert score.critical_failures == ()


def test_closes_during_a_clean_stop_are_not_scheduled_but_a_crash_makes_its_late_catch_up_down() -> None:
    clean = [LiveRestarted(CLOSES[2].due + timedelta(minutes=1), ALL[1].isoformat(), True, "interrupted")]
    score = score_live(DAY + timedelta(hours=7), CLOSES, ALL[:2] + ALL[3:], clean)
    assert (score.scheduled, score.up, score.missed_closes) == (5, 5, 0)  # close 2 fell in the operator's pause
    assert score.critical_failures == ()

    crash = [LiveRestarted(CLOSES[3].due + timedelta(minutes=5), ALL[1].isoformat(), False, "running")]
    score = score_live(DAY + timedelta(hours=7), CLOSES, ALL, crash)  # closes 2 and 3 stepped late, on resume
    assert (score.scheduled, score.up, score.missed_closes) == (6, 4, 0)
    assert len(score.critical_failures) == 1
    assert score.critical_failures[0].startswith("run stopped without closing (crash or kill) 1 time(s)")


def test_the_trial_failures_count_too_raised_kill_switch_and_a_ledger_mismatch() -> None:
    events = [
        KillSwitchFired(ALL[2], "max_drawdown", 0.081, 0.08, 101_000.0, 92_819.0),
        HaltChanged(ALL[2], True, "kill switch: drawdown 8.10% past 8%"),
    ]
    score = score_live(DAY, CLOSES, ALL, events, raised="boom", check_problems=("cash: stored 1, rebuilt 2",))
    assert score.critical_failures == (
        "run raised: boom",
        "halted by the kill switch: drawdown 8.10%",
        "ledger check mismatch: cash: stored 1, rebuilt 2",
    )


def test_no_scheduled_close_yet_has_no_uptime() -> None:
    score = score_live(DAY, [], [], [])
    assert score.scheduled == 0 and math.isnan(score.uptime)
    assert score.to_json()["uptime"] is None


def test_scheduled_closes_follow_the_exchange_calendar_and_stop_at_the_due_time() -> None:
    live = LiveSettings()
    first = datetime(2024, 3, 1, 11, 0, tzinfo=NEW_YORK).astimezone(UTC)  # Friday; the weekend has no session
    until = datetime(2024, 3, 4, 12, 0, tzinfo=NEW_YORK).astimezone(UTC)
    closes = scheduled_closes(live, "1h", first, until)
    days = {c.close.astimezone(NEW_YORK).date() for c in closes}
    assert days == {date(2024, 3, 1), date(2024, 3, 4)}
    assert closes[0].close == first
    assert all(c.due <= until and c.due > c.close for c in closes)
    assert [c.close for c in closes] == sorted(c.close for c in closes)


def test_down_closes_name_each_down_close_with_its_reason_and_agree_with_the_score() -> None:
    events = [
        HealthChanged(CLOSES[1].due, "data", "down", "every source failed"),
        HealthChanged(CLOSES[1].due + timedelta(seconds=1), "data", "ok", "ok"),
        LiveRestarted(CLOSES[4].due + timedelta(minutes=5), ALL[2].isoformat(), False, "running"),
    ]
    cycles = ALL[:5]  # close 5 never ran
    down = down_closes(CLOSES, cycles, events)
    assert down == [
        (ALL[1], "down: data (every source failed)"),
        (ALL[3], "caught up late after a crash or kill"),
        (ALL[4], "caught up late after a crash or kill"),
        (ALL[5], "no cycle"),
    ]
    score = score_live(DAY + timedelta(hours=7), CLOSES, cycles, events)
    assert score.scheduled - score.up == len(down)
