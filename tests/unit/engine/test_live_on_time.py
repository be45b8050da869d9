"""A close's on-time limit: the re-fetch window bounds the retries, and live uptime reads health at the limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from papertrader.config.live import LiveSettings
from papertrader.domain.events import HealthChanged
from papertrader.domain.sessions import NEW_YORK
from papertrader.engine.live_score import ScheduledClose, down_closes, scheduled_closes, score_live
from papertrader.engine.schedule import on_time_window, refetch_window

DAY = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)  # a Monday, 10:00 New York
DUE = timedelta(seconds=5)
LIMIT = timedelta(seconds=45)
CLOSES = [
    ScheduledClose(DAY + timedelta(hours=h), DAY + timedelta(hours=h) + DUE, DAY + timedelta(hours=h) + LIMIT)
    for h in range(3)
]
ALL = [c.close for c in CLOSES]


def test_the_re_fetch_window_is_the_deadline_at_most_a_quarter_bar_and_zero_when_off() -> None:
    live = LiveSettings(refetch_deadline_seconds=20)
    assert refetch_window(live, "1h") == timedelta(seconds=20)
    assert refetch_window(live, "1m") == timedelta(seconds=15)
    assert refetch_window(live, "1d") == timedelta(seconds=20)
    assert on_time_window(live, "1m") == timedelta(seconds=30), "half a bar: never reaches the next close"
    off = LiveSettings(refetch_attempts=0)
    assert refetch_window(off, "5m") == on_time_window(off, "5m") == timedelta(0)


def test_scheduled_closes_carry_the_on_time_limit() -> None:
    live = LiveSettings()
    first = datetime(2024, 3, 4, 10, 0, tzinfo=NEW_YORK).astimezone(UTC)
    closes = scheduled_closes(live, "5m", first, first + timedelta(hours=1))
    assert closes and all(c.on_time_by == c.due + timedelta(seconds=40) for c in closes)
    assert all(
        c.on_time_by == c.due
        for c in scheduled_closes(LiveSettings(refetch_attempts=0), "5m", first, first + timedelta(hours=1))
    )


def test_data_back_on_a_re_request_before_the_limit_is_up_and_a_verdict_inside_the_limit_counts() -> None:
    events = [
        # close 0: the previous close left data down; this close's bars came on a re-request 8 s after its due time
        HealthChanged(DAY - timedelta(hours=1), "data", "down", "every source failed"),
        HealthChanged(CLOSES[0].due + timedelta(seconds=8), "data", "ok", "ok"),
        # close 1: the re-requests ran out 14 s after the due time: down
        HealthChanged(CLOSES[1].due + timedelta(seconds=14), "data", "down", "read timed out"),
        HealthChanged(CLOSES[2].due, "data", "ok", "ok"),
    ]
    score = score_live(DAY + timedelta(hours=4), CLOSES, ALL, events)
    assert (score.scheduled, score.up) == (3, 2)
    assert down_closes(CLOSES, ALL, events) == [(ALL[1], "down: data (read timed out)")]
