"""Times as people read them: the exchange's clock (America/New_York), always labelled with its zone.

The engine stores and computes in UTC; everything printed (CLI tables, reports) goes through here so that the
CLI, the tear sheet and the dashboard show the same clock with the same label.
"""

from __future__ import annotations

from datetime import datetime

from papertrader.domain.sessions import NEW_YORK

#: the label printed after every exchange time ("ET": New York, EST or EDT as the date has it)
ZONE_LABEL = "ET"


def exchange_time(ts: datetime | str, seconds: bool = False) -> str:
    """`2024-01-02 16:00 ET`: an aware time (or ISO string) on the exchange's clock: no reader guesses the zone."""
    when = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
    if when.tzinfo is None:
        raise ValueError(f"naive timestamp {when!r}: stored times are UTC-aware")
    return f"{when.astimezone(NEW_YORK):%Y-%m-%d %H:%M{':%S' if seconds else ''}} {ZONE_LABEL}"


def exchange_day(ts: datetime | str) -> str:
    """`2024-01-02`: the exchange session date a timestamp belongs to (a date needs no zone label)."""
    when = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
    if when.tzinfo is None:
        raise ValueError(f"naive timestamp {when!r}: stored times are UTC-aware")
    return f"{when.astimezone(NEW_YORK):%Y-%m-%d}"
