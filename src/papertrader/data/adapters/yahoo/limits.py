"""Yahoo's interval names and lookback windows, enforced before a request is sent.

Per shared/docs/market-apis.md: 1-minute bars exist only for the last 30 days and at most 8 days per
request (we ask for 7: Yahoo's own 422 text says "Only 7 days worth of 1m granularity data are allowed to
be fetched per request", and 7 is inside the documented 8); 2m-90m bars (our 5m, 15m, 30m) only for the
last 60 days; 1h bars for the last 730 days; daily bars without limit. A request whose start is older than
the window is refused with a DataError naming the earliest allowed start, unless the caller asked to clip,
in which case the start is moved forward and the clipping is reported (never silent). An end in the future
is cut to now: there is nothing to fetch there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from papertrader.core.errors import DataError
from papertrader.data.schema import normalize_interval

#: Our canonical interval -> Yahoo's `interval` parameter.
YAHOO_INTERVALS: Final[dict[str, str]] = {
    "1m": "1m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "1h",
    "1d": "1d",
}
#: How far back Yahoo serves each interval (None: no limit).
LOOKBACK: Final[dict[str, timedelta | None]] = {
    "1m": timedelta(days=30),
    "5m": timedelta(days=60),
    "15m": timedelta(days=60),
    "30m": timedelta(days=60),
    "1h": timedelta(days=730),
    "1d": None,
}
#: The longest span one request may cover (None: no limit).
MAX_SPAN: Final[dict[str, timedelta | None]] = {
    "1m": timedelta(days=7),
    "5m": None,
    "15m": None,
    "30m": None,
    "1h": None,
    "1d": None,
}


@dataclass(frozen=True)
class Window:
    """One request's [period1, period2) in UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Plan:
    """What will be asked of Yahoo for one fetch, and whether the asked range had to be clipped."""

    interval: str
    yahoo_interval: str
    start: datetime
    end: datetime
    windows: tuple[Window, ...]
    clipped_from: datetime | None = None


def earliest_start(interval: str, now: datetime, margin: timedelta) -> datetime | None:
    """The oldest start Yahoo will serve for this interval now (None: unlimited), inside a safety margin."""
    lookback = LOOKBACK[normalize_interval(interval)]
    return None if lookback is None else now - lookback + margin


def plan_requests(
    interval: str,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    margin: timedelta = timedelta(0),
    clip: bool = False,
) -> Plan:
    """Check the range against Yahoo's windows and split it into requests Yahoo will accept."""
    canonical = normalize_interval(interval)
    if start.tzinfo is None or end.tzinfo is None or now.tzinfo is None:
        raise DataError("start, end and now must be timezone-aware datetimes")
    end = min(end, now)
    clipped_from: datetime | None = None
    lookback = LOOKBACK[canonical]
    earliest = None if lookback is None else now - lookback + margin
    if lookback is not None and earliest is not None and start < earliest:
        if end <= earliest or not clip:
            raise DataError(
                f"Yahoo serves {canonical} bars only for the last {lookback.days} days (from "
                f"{earliest.isoformat()}); the request starts {start.isoformat()}: shorten the range, "
                "use a coarser interval, or set PAPERTRADER_YAHOO_CLIP_TO_LOOKBACK=true to clip"
            )
        clipped_from, start = start, earliest
    windows: list[Window] = []
    span = MAX_SPAN[canonical]
    cursor = start
    while cursor < end:
        stop = end if span is None else min(end, cursor + span)
        windows.append(Window(cursor, stop))
        cursor = stop
    return Plan(canonical, YAHOO_INTERVALS[canonical], start, end, tuple(windows), clipped_from)
