"""Session bounds come from five-year span tables (kept on disk) and equal the whole calendar's, day for day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from papertrader.domain import calendars
from papertrader.domain.calendars import session_bounds, session_table, span_table
from papertrader.domain.sessions import NEW_YORK

UTC = ZoneInfo("UTC")


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private PAPERTRADER_HOME and empty in-process caches, so spans are computed (or read) here."""
    monkeypatch.setenv("PAPERTRADER_HOME", str(tmp_path))
    span_table.cache_clear()
    session_bounds.cache_clear()
    yield tmp_path / "cache" / "calendars"
    span_table.cache_clear()
    session_bounds.cache_clear()


def _whole_calendar(exchange: str, day: date) -> calendars.Session:
    """What the one table over the calendar's whole range answers (the behaviour before spans)."""
    first, last, sessions = session_table(exchange)
    if first <= day <= last:
        return sessions.get(day)
    if day.weekday() >= 5:
        return None
    return (
        datetime.combine(day, time(9, 30), NEW_YORK).astimezone(UTC),
        datetime.combine(day, time(16, 0), NEW_YORK).astimezone(UTC),
    )


@pytest.mark.parametrize("exchange", ["XNYS", "XTSE"])
def test_each_span_table_equals_the_whole_table_on_its_span(exchange: str, fresh: Path) -> None:
    _, _, whole = session_table(exchange)
    end = calendars.range_end()
    for index in range(calendars._span_index(end) + 1):
        lo, hi = calendars._span(index, end)
        _, _, span = span_table(exchange, lo, hi)
        expected = {d: v for d, v in whole.items() if lo <= d <= hi}
        assert span == expected, (exchange, lo, hi)
        for d, (o, c) in span.items():  # the same datetimes, not only equal instants
            assert (o.tzinfo, c.tzinfo) == (whole[d][0].tzinfo, whole[d][1].tzinfo)


@pytest.mark.parametrize("exchange", ["XNYS", "XTSE"])
def test_session_bounds_equal_the_whole_calendar_every_day_including_the_range_edges(
    exchange: str, fresh: Path
) -> None:
    day, stop = date(1989, 11, 1), calendars.range_end() + timedelta(days=60)
    while day < stop:
        assert session_bounds(exchange, day) == _whole_calendar(exchange, day), (exchange, day)
        day += timedelta(days=1)


def test_early_closes_and_dst_changes_come_through_a_span() -> None:
    # the day after Thanksgiving 2008 closes at 13:00 New York; March 10 2008 is the first session after DST
    assert session_bounds("XNYS", date(2008, 11, 28)) == (
        datetime(2008, 11, 28, 14, 30, tzinfo=UTC),
        datetime(2008, 11, 28, 18, 0, tzinfo=UTC),
    )
    assert session_bounds("XNYS", date(2008, 3, 7))[0].hour == 14  # type: ignore[index]
    assert session_bounds("XNYS", date(2008, 3, 10))[0].hour == 13  # type: ignore[index]
    assert session_bounds("XNYS", date(2008, 12, 25)) is None


def test_a_span_is_kept_on_disk_keyed_by_span_and_library_versions_and_read_back(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lo, hi = date(2005, 1, 1), date(2009, 12, 31)
    computed = span_table("XNYS", lo, hi)
    files = list(fresh.glob("XNYS-2005-01-01-2009-12-31-exchange_calendars*-pandas*.npz"))
    assert len(files) == 1
    span_table.cache_clear()

    def refuse(*_args: object) -> object:
        raise AssertionError("a cached span must not be computed again")

    monkeypatch.setattr(calendars, "_computed", refuse)
    assert span_table("XNYS", lo, hi) == computed


def test_a_damaged_cache_file_is_computed_again(fresh: Path) -> None:
    lo, hi = date(2005, 1, 1), date(2009, 12, 31)
    computed = span_table("XNYS", lo, hi)
    (path,) = fresh.glob("XNYS-2005-*.npz")
    path.write_bytes(b"not an npz file")
    span_table.cache_clear()
    assert span_table("XNYS", lo, hi) == computed


def test_a_span_recomputed_for_a_later_range_end_replaces_the_older_file(fresh: Path) -> None:
    span_table("XNYS", date(2025, 1, 1), date(2026, 6, 30))
    span_table("XNYS", date(2025, 1, 1), date(2026, 7, 31))
    assert [p.name.split("-exchange_calendars")[0] for p in fresh.glob("XNYS-2025-*.npz")] == [
        "XNYS-2025-01-01-2026-07-31"
    ]
