"""The day plan from the exchange calendar: warm-up, bar closes, early closes, holidays, report and retraining slots."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from papertrader.config.live import LiveSettings
from papertrader.domain.sessions import NEW_YORK
from papertrader.engine.schedule import EventKind, bar_closes, day_plan, next_session, plans


def _ny(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=NEW_YORK).astimezone(UTC)


def test_a_regular_hourly_day_has_seven_clock_aligned_closes_after_a_warm_up_before_the_open() -> None:
    day = date(2019, 5, 23)
    plan = day_plan("XNYS", day, "1h", LiveSettings(warm_up_minutes=30))
    assert plan is not None
    assert plan.warm_up == _ny(day, 9, 0) and plan.open == _ny(day, 9, 30)
    assert plan.bar_closes == tuple(_ny(day, h) for h in range(10, 17))
    assert plan.bar_stamp(plan.bar_closes[0]) == _ny(day, 9)  # the lake's 09:00 bar covers 09:30-10:00
    assert not plan.early_close


def test_an_early_close_ends_the_bars_and_moves_the_report_to_the_early_close() -> None:
    day = date(2019, 7, 3)
    plan = day_plan("XNYS", day, "1h", LiveSettings(report_delay_minutes=15))
    assert plan is not None and plan.early_close
    assert plan.close == _ny(day, 13)
    assert plan.bar_closes == tuple(_ny(day, h) for h in (10, 11, 12, 13))
    assert plan.report == _ny(day, 13, 15)


@pytest.mark.parametrize("day", [date(2019, 7, 4), date(2019, 5, 27), date(2019, 5, 25), date(2019, 5, 26)])
def test_holidays_and_weekends_have_no_plan(day: date) -> None:
    assert day_plan("XNYS", day, "1h", LiveSettings()) is None


def test_the_toronto_calendar_has_its_own_holidays() -> None:
    canada_day = date(2019, 7, 1)
    assert day_plan("XTSE", canada_day, "1h", LiveSettings()) is None
    assert day_plan("XNYS", canada_day, "1h", LiveSettings()) is not None


@pytest.mark.parametrize(
    ("interval", "count", "first"), [("1m", 390, (9, 31)), ("5m", 78, (9, 35)), ("1d", 1, (16, 0))]
)
def test_bar_closes_per_interval_cover_the_session(interval: str, count: int, first: tuple[int, int]) -> None:
    day = date(2019, 5, 23)
    closes = bar_closes(_ny(day, 9, 30), _ny(day, 16), interval)
    assert len(closes) == count
    assert closes[0] == _ny(day, *first) and closes[-1] == _ny(day, 16)
    assert all(a < b for a, b in itertools.pairwise(closes))


def test_retraining_is_slotted_after_the_close_on_configured_weekdays_only() -> None:
    settings = LiveSettings(retrain_weekdays=(4,), retrain_after_close_minutes=60)
    thursday = day_plan("XNYS", date(2019, 5, 23), "1h", settings)
    friday = day_plan("XNYS", date(2019, 5, 24), "1h", settings)
    assert thursday is not None and thursday.retrain is None
    assert friday is not None and friday.retrain == _ny(date(2019, 5, 24), 17)


def test_events_come_in_time_order_with_the_fetch_delay_after_each_close() -> None:
    plan = day_plan("XNYS", date(2019, 5, 24), "1h", LiveSettings(fetch_delay_seconds=5, retrain_weekdays=(4,)))
    assert plan is not None
    events = plan.events()
    assert [e.at for e in events] == sorted(e.at for e in events)
    kinds = [e.kind for e in events]
    assert kinds[0] is EventKind.WARM_UP
    assert kinds[-3:] == [EventKind.CLOSE, EventKind.REPORT, EventKind.RETRAIN]
    bars = [e for e in events if e.kind is EventKind.BAR_CLOSE]
    assert all(e.bar_close is not None and e.at == e.bar_close + timedelta(seconds=5) for e in bars)


def test_sessions_skip_the_long_weekend() -> None:
    assert next_session("XNYS", date(2019, 5, 25)) == date(2019, 5, 28)
    days = [p.day for _, p in zip(range(3), plans("XNYS", date(2019, 5, 23), "1h", LiveSettings()), strict=False)]
    assert days == [date(2019, 5, 23), date(2019, 5, 24), date(2019, 5, 28)]


def test_live_settings_refuse_an_impossible_weekday() -> None:
    with pytest.raises(ValueError, match="retrain_weekdays"):
        LiveSettings(retrain_weekdays=(7,))
