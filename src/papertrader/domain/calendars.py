"""Exchange calendars, once: which exchange a symbol trades on, the one cache of exchange_calendars objects,
and each exchange's regular session. XNYS for US symbols, XTSE for Canadian listings (.TO, .V, ...).

The broker (fills), the live schedule (engine/schedule.py), the backfill's expected sessions (data/backfill.py)
and the calendar features (features/calendar.py) all read calendars from here.

A bar may fill a regular-session order only if its interval [open, close) overlaps the exchange's
regular session that day (so a 1-minute bar stamped 09:29 or 16:00 New York time does not, and an hourly
bar stamped 09:00 whose trading starts at 09:30 does). Outside the calendar's range (before 1990 or
more than a year ahead) the fallback is Monday to Friday, 09:30-16:00 New York time, no holidays.

`session_bounds` reads the sessions of the five calendar years around the day asked (`span_table`), not the
whole range: building an exchange_calendars calendar costs ~0.1 s however short, ~0.25 s for 1990 on, and a
backtest touches a year or two. Each span is kept on disk under `$PAPERTRADER_HOME/cache/calendars/`, keyed by
exchange, span and the exchange_calendars and pandas versions, so a later process reads it in a millisecond;
the answers are the full calendar's, day for day (holidays, early closes, DST changes).
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from datetime import date, datetime, time, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

import numpy as np

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

#: calendar years per span table (aligned on CALENDAR_START's year): one calendar build covers a typical run
SPAN_YEARS: Final = 5
_FIRST_DAY: Final = date.fromisoformat(CALENDAR_START)

Session = tuple[datetime, datetime] | None
Table = tuple[date | None, date | None, dict[date, tuple[datetime, datetime]]]


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


@functools.cache
def range_end() -> date:
    """The last day of `calendar(exchange)`'s range: exchange_calendars' default end, a year from today (read
    once per process, as exchange_calendars reads it once when imported)."""
    import pandas as pd

    return (pd.Timestamp.now().floor("D") + pd.DateOffset(years=1)).date()


def _span(index: int, end: date) -> tuple[date, date]:
    """The days of span `index` (SPAN_YEARS calendar years from CALENDAR_START's), cut at the range's end."""
    lo = date(_FIRST_DAY.year + index * SPAN_YEARS, 1, 1)
    return max(lo, _FIRST_DAY), min(date(lo.year + SPAN_YEARS - 1, 12, 31), end)


def _span_index(day: date) -> int:
    return (day.year - _FIRST_DAY.year) // SPAN_YEARS


def _versions() -> str:
    """The library versions a cached span was computed with (holiday rules live in both)."""
    found = []
    for lib in ("exchange_calendars", "pandas"):
        try:
            found.append(f"{lib}{version(lib)}")
        except PackageNotFoundError:  # pragma: no cover - both are dependencies
            found.append(f"{lib}-unknown")
    return "-".join(found)


def cache_dir() -> Path:
    """Where span tables are kept: under PAPERTRADER_HOME (the settings' default home, read the same way)."""
    home = Path(os.environ.get("PAPERTRADER_HOME", Path.home() / ".papertrader")).expanduser()
    return home / "cache" / "calendars"


def _table(days: np.ndarray, opens_ns: np.ndarray, closes_ns: np.ndarray) -> Table:
    """(first, last, by date) from day numbers and UTC nanoseconds, the datetimes built as pandas builds them."""
    import pandas as pd

    if days.size == 0:
        return None, None, {}
    dates = [date.fromordinal(int(d)) for d in days]
    opens = pd.DatetimeIndex(opens_ns.astype("datetime64[ns]")).tz_localize(ZoneInfo("UTC")).to_pydatetime()
    closes = pd.DatetimeIndex(closes_ns.astype("datetime64[ns]")).tz_localize(ZoneInfo("UTC")).to_pydatetime()
    return dates[0], dates[-1], dict(zip(dates, zip(opens, closes, strict=True), strict=True))


def _computed(exchange: str, lo: date, hi: date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Day ordinals, opens and closes (UTC ns) of every session in [lo, hi], from exchange_calendars."""
    import pandas as pd

    if hi <= lo:  # a span cut to its first day (January 1st, never a session)
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    import exchange_calendars as xcals

    cal = xcals.get_calendar(exchange, start=lo.isoformat(), end=hi.isoformat())
    days = np.asarray([d.toordinal() for d in pd.DatetimeIndex(cal.sessions).date], dtype=np.int64)
    opens = np.asarray(pd.DatetimeIndex(cal.opens).tz_convert("UTC").asi8, dtype=np.int64)
    closes = np.asarray(pd.DatetimeIndex(cal.closes).tz_convert("UTC").asi8, dtype=np.int64)
    return days, opens, closes


@functools.lru_cache(maxsize=64)
def span_table(exchange: str, lo: date, hi: date) -> Table:
    """Every regular session in [lo, hi] (first, last, by date): read from the disk cache, else computed and kept."""
    path = cache_dir() / f"{exchange}-{lo.isoformat()}-{hi.isoformat()}-{_versions()}.npz"
    try:
        with np.load(path) as cached:
            return _table(cached["days"], cached["opens"], cached["closes"])
    except (OSError, KeyError, ValueError):  # absent, unreadable or from a half-written file: compute it
        pass
    days, opens, closes = _computed(exchange, lo, hi)
    with contextlib.suppress(OSError):  # a read-only home only costs the next process the computation
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as tmp:
            np.savez(tmp, days=days, opens=opens, closes=closes)
        os.replace(tmp.name, path)
        for stale in path.parent.glob(f"{exchange}-{lo.isoformat()}-*.npz"):  # the span cut at an older range
            if stale != path:  # end (it moves with the date) or computed by older library versions
                stale.unlink(missing_ok=True)
    return _table(days, opens, closes)


def _last_session(exchange: str, end: date) -> date | None:
    """The calendar range's last session (the latest span that has one)."""
    for index in range(_span_index(end), -1, -1):
        last = span_table(exchange, *_span(index, end))[1]
        if last is not None:
            return last
    return None


@functools.lru_cache(maxsize=65_536)
def session_bounds(exchange: str, day: date) -> Session:
    """The regular session's (open, close) in UTC on a local date, or None when the exchange is shut."""
    end = range_end()
    if _FIRST_DAY <= day <= end:
        index = _span_index(day)
        first, last, sessions = span_table(exchange, *_span(index, end))
        if index == 0 and (first is None or day < first):
            pass  # before the calendar's first session: the fallback, as for any day outside the range
        elif last is not None and day <= last:
            return sessions.get(day)
        elif (final := _last_session(exchange, end)) is not None and day <= final:
            return None  # after this span's last session, inside the range: not a session day
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
