"""Exchange calendars, once: which exchange a symbol trades on, the one cache of exchange_calendars objects,
and each exchange's regular session. XNYS for US symbols, XTSE for Canadian listings (.TO, .V, ...).

The broker (fills), the live schedule (engine/schedule.py), the backfill's expected sessions (data/backfill.py)
and the calendar features (features/calendar.py) all read calendars from here.

A bar may fill a regular-session order only if its interval [open, close) overlaps the exchange's
regular session that day (so a 1-minute bar stamped 09:29 or 16:00 New York time does not, and an hourly
bar stamped 09:00 whose trading starts at 09:30 does). Outside the calendar's range (before 1990 or
more than a year ahead) the fallback is Monday to Friday, 09:30-16:00 New York time, no holidays.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from papertrader.domain.sessions import NEW_YORK

if TYPE_CHECKING:
    import exchange_calendars as xcals

NYSE: Final = "XNYS"
TSX: Final = "XTSE"
#: Ticker suffixes of Canadian listings (TSX, TSX Venture, CSE, NEO), which follow the TSX calendar.
CANADIAN_SUFFIXES: Final = (".TO", ".V", ".VN", ".CN", ".NE")
CALENDAR_START: Final = "1990-01-01"
_EXTENDED_OPEN = time(4, 0)
_EXTENDED_CLOSE = time(20, 0)

Session = tuple[datetime, datetime] | None


def is_canadian(symbol: str) -> bool:
    """Whether a symbol is a Canadian listing (by ticker suffix), which changes calendar, currency and fees."""
    return symbol.strip().upper().endswith(CANADIAN_SUFFIXES)


def exchange_for(symbol: str) -> str:
    """The exchange calendar that governs a symbol: XTSE for Canadian listings, XNYS otherwise."""
    return TSX if is_canadian(symbol) else NYSE


def calendar_names() -> frozenset[str]:
    """Every exchange code exchange_calendars knows (to validate a configured exchange before a run)."""
    import exchange_calendars as xcals

    return frozenset(xcals.get_calendar_names())


@functools.lru_cache(maxsize=16)
def calendar(exchange: str, start: str = CALENDAR_START, end: str | None = None) -> xcals.ExchangeCalendar:
    """An exchange calendar (built once per process and range: construction takes most of a second)."""
    import exchange_calendars as xcals

    if end is None:
        return xcals.get_calendar(exchange, start=start)
    return xcals.get_calendar(exchange, start=start, end=end)


@functools.lru_cache(maxsize=16)
def session_table(exchange: str) -> tuple[date, date, dict[date, tuple[datetime, datetime]]]:
    """Every regular session of an exchange's calendar range, computed once per process (first, last, by date).

    The broker asks for a session on every new trading day; one vectorised pass over the calendar's
    schedule replaces a pandas call per day.
    """
    import pandas as pd

    cal = calendar(exchange)
    days = [d.date() for d in pd.DatetimeIndex(cal.sessions)]
    opens = pd.DatetimeIndex(cal.opens).to_pydatetime()
    closes = pd.DatetimeIndex(cal.closes).to_pydatetime()
    return days[0], days[-1], dict(zip(days, zip(opens, closes, strict=True), strict=True))


@functools.lru_cache(maxsize=65_536)
def session_bounds(exchange: str, day: date) -> Session:
    """The regular session's (open, close) in UTC on a local date, or None when the exchange is shut."""
    first, last, sessions = session_table(exchange)
    if first <= day <= last:
        return sessions.get(day)
    if day.weekday() >= 5:
        return None
    return (
        datetime.combine(day, time(9, 30), NEW_YORK).astimezone(ZoneInfo("UTC")),
        datetime.combine(day, time(16, 0), NEW_YORK).astimezone(ZoneInfo("UTC")),
    )


def in_regular_session(exchange: str, start: datetime, end: datetime) -> bool:
    """Whether the interval [start, end) overlaps the regular session of start's local date."""
    bounds = session_bounds(exchange, start.astimezone(NEW_YORK).date())
    return bounds is not None and start < bounds[1] and end > bounds[0]


def in_extended_hours(exchange: str, start: datetime) -> bool:
    """Whether a bar starting at start falls in the 04:00-20:00 local trading day of a session date."""
    local = start.astimezone(NEW_YORK)
    if session_bounds(exchange, local.date()) is None:
        return False
    return _EXTENDED_OPEN <= local.time() < _EXTENDED_CLOSE


def live_session(exchange: str, at: datetime, extended_hours: bool = False) -> date:
    """The session date a DAY order placed at `at` works in: today's if still open, else the next one."""
    local = at.astimezone(NEW_YORK)
    day = local.date()
    bounds = session_bounds(exchange, day)
    if bounds is not None:
        closes = (
            datetime.combine(day, _EXTENDED_CLOSE, NEW_YORK).astimezone(ZoneInfo("UTC"))
            if extended_hours
            else bounds[1]
        )
        if at < closes:
            return day
    for _ in range(30):
        day += timedelta(days=1)
        if session_bounds(exchange, day) is not None:
            return day
    return day
