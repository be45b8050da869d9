"""Questrade candle intervals and paging: no request may ask for more than 2,000 candles.

Pages are consecutive calendar windows of ``max_candles × interval``: a window that long can never hold more
candles than the limit, whatever the session hours, so no page is silently cut. Each page keeps only the
candles that *start* inside its own [start, end), so pages never share a candle even if Questrade treats
``endTime`` as inclusive. Times are sent with second precision in America/New_York with the offset written
out, like the documentation's ``2014-10-01T00:00:00-05:00``.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from papertrader.core.errors import DataError
from papertrader.data.schema import normalize_interval

#: Our canonical interval -> Questrade's HistoricalDataGranularity.
QUESTRADE_INTERVALS: Final[dict[str, str]] = {
    "1m": "OneMinute",
    "5m": "FiveMinutes",
    "15m": "FifteenMinutes",
    "30m": "HalfHour",
    "1h": "OneHour",
    "1d": "OneDay",
}
DURATIONS: Final[dict[str, timedelta]] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}
_WIRE_TZ: Final = zoneinfo.ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Page:
    """One candle request's [start, end)."""

    start: datetime
    end: datetime


def questrade_interval(interval: str) -> str:
    """Questrade's name for one of our intervals; an interval it lacks is a DataError."""
    canonical = normalize_interval(interval)
    try:
        return QUESTRADE_INTERVALS[canonical]
    except KeyError:  # pragma: no cover - every canonical interval is mapped
        raise DataError(f"Questrade has no {interval!r} candles") from None


def plan_pages(interval: str, start: datetime, end: datetime, max_candles: int) -> tuple[Page, ...]:
    """Consecutive, non-overlapping windows covering [start, end), none able to hold > max_candles candles."""
    if start.tzinfo is None or end.tzinfo is None:
        raise DataError("candle range times must be timezone-aware")
    if max_candles < 1:
        raise DataError("max_candles must be at least 1")
    span = DURATIONS[normalize_interval(interval)] * max_candles
    pages: list[Page] = []
    cursor = start
    while cursor < end:
        stop = min(end, cursor + span)
        pages.append(Page(cursor, stop))
        cursor = stop
    return tuple(pages)


def wire_time(ts: datetime) -> str:
    """A time as Questrade wants it: second precision, Eastern time, explicit offset."""
    if ts.tzinfo is None:
        raise DataError("Questrade request times must be timezone-aware")
    return ts.astimezone(_WIRE_TZ).replace(microsecond=0).isoformat()
