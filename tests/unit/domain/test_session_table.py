"""The session table built once per exchange gives exactly what exchange_calendars answers day by day."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from papertrader.domain.calendars import calendar, session_bounds, session_table


def test_session_bounds_from_the_table_equal_exchange_calendars_day_by_day() -> None:
    for exchange in ("XNYS", "XTSE"):
        cal = calendar(exchange)
        day = date(2007, 12, 20)
        while day < date(2009, 1, 10):  # holidays, a half day (day after Thanksgiving), DST changes
            stamp = pd.Timestamp(day)
            expected = (
                (cal.session_open(stamp).to_pydatetime(), cal.session_close(stamp).to_pydatetime())
                if cal.is_session(stamp)
                else None
            )
            assert session_bounds(exchange, day) == expected, (exchange, day)
            day += timedelta(days=1)


def test_the_table_covers_the_calendar_range_and_falls_back_to_weekdays_outside_it() -> None:
    first, last, sessions = session_table("XNYS")
    assert first == calendar("XNYS").first_session.date() and last == calendar("XNYS").last_session.date()
    assert len(sessions) == len(calendar("XNYS").sessions)
    before = first - timedelta(days=30)
    while before.weekday() >= 5:
        before += timedelta(days=1)
    assert session_bounds("XNYS", before) is not None  # outside the range: Monday to Friday, 09:30-16:00
