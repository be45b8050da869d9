"""When a bar opens, closes and which session it belongs to: the basis of every no-look-ahead rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
REGULAR_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)

_INTERVAL_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "1d": 390}


def interval_minutes(interval: str) -> int:
    """Trading minutes a bar covers (a daily bar is one regular session of 390 minutes)."""
    try:
        return _INTERVAL_MINUTES[interval]
    except KeyError:
        raise ValueError(f"unknown interval {interval!r}; use one of {sorted(_INTERVAL_MINUTES)}") from None


def bars_per_year(interval: str, sessions_per_year: int = 252) -> float:
    """Regular-session bars in a year, known before any bar is seen (a decision must not infer it from the future)."""
    return float(sessions_per_year * -(-390 // interval_minutes(interval)))


def session_date(ts: datetime) -> date:
    """The New York calendar date a bar or order belongs to."""
    return ts.astimezone(NEW_YORK).date()


def bar_open_time(ts: datetime, interval: str) -> datetime:
    """When the bar's first trade can happen: the session open for daily bars, the stamp otherwise."""
    if interval == "1d":
        return datetime.combine(session_date(ts), REGULAR_OPEN, NEW_YORK).astimezone(UTC)
    return ts.astimezone(UTC)


def bar_close_time(ts: datetime, interval: str) -> datetime:
    """When the bar is complete and may be used by a decision."""
    if interval == "1d":
        return datetime.combine(session_date(ts), REGULAR_CLOSE, NEW_YORK).astimezone(UTC)
    return ts.astimezone(UTC) + timedelta(minutes=interval_minutes(interval))
