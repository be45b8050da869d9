"""Gap computation from the exchange calendar: only real, finished, not-yet-asked sessions are missing."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from papertrader.data.backfill import (
    Gap,
    fetch_spans,
    find_gaps,
    in_gaps,
    session_table,
    span_requests,
)
from papertrader.data.schema import daily_stamp
from papertrader.domain.calendars import NYSE, TSX, exchange_for

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def stamps(*dates: str) -> pd.Series:
    """Daily bar stamps (midnight New York) of session dates."""
    return daily_stamp(pd.Series(pd.to_datetime(list(dates))))


def sessions(symbol: str, start: str, end: str) -> list[str]:
    table = session_table(symbol, "1d", pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"), NOW)
    return [str(d.date()) for d in table["day_start"].dt.tz_convert("America/New_York")]


def test_weekends_and_nyse_holidays_are_not_expected_sessions() -> None:
    # 2024-07-04 Independence Day, 2024-11-28 Thanksgiving, 2024-12-25 Christmas, 2024-03-29 Good Friday
    assert sessions("AAPL", "2024-07-01", "2024-07-09") == [
        "2024-07-01",
        "2024-07-02",
        "2024-07-03",
        "2024-07-05",
        "2024-07-08",
    ]
    assert "2024-11-28" not in sessions("AAPL", "2024-11-25", "2024-12-02")
    assert "2024-12-25" not in sessions("AAPL", "2024-12-20", "2024-12-31")
    assert "2024-03-29" not in sessions("AAPL", "2024-03-25", "2024-04-02")


def test_canadian_symbols_follow_the_tsx_calendar() -> None:
    assert exchange_for("RY.TO") == TSX and exchange_for("XYZ.V") == TSX and exchange_for("AAPL") == NYSE
    # 2024-07-01 Canada Day: TSX closed, NYSE open; 2024-07-04: the reverse
    tsx = sessions("RY.TO", "2024-07-01", "2024-07-06")
    assert "2024-07-01" not in tsx and "2024-07-04" in tsx
    assert "2024-07-01" in sessions("AAPL", "2024-07-01", "2024-07-06")


def test_a_lake_holding_every_session_has_no_gap_even_across_holidays() -> None:
    held = stamps("2024-12-23", "2024-12-24", "2024-12-26", "2024-12-27", "2024-12-30", "2024-12-31", "2025-01-02")
    gaps = find_gaps("SPY", "1d", datetime(2024, 12, 23, tzinfo=UTC), datetime(2025, 1, 3, tzinfo=UTC), NOW, held)
    assert gaps == []


def test_missing_sessions_form_one_gap_per_run_bounded_by_new_york_midnights() -> None:
    held = stamps("2024-12-23", "2024-12-24", "2025-01-02")
    gaps = find_gaps("SPY", "1d", datetime(2024, 12, 23, tzinfo=UTC), datetime(2025, 1, 3, tzinfo=UTC), NOW, held)
    assert gaps == [
        Gap(pd.Timestamp("2024-12-26 05:00", tz="UTC"), pd.Timestamp("2025-01-01 05:00", tz="UTC"), 4)
    ]  # 26, 27, 30, 31 December; Christmas and New Year's Day are holidays, not gaps


def test_ranges_asked_for_before_are_not_asked_again() -> None:
    checked = [(pd.Timestamp("2024-12-26 05:00", tz="UTC"), pd.Timestamp("2025-01-01 05:00", tz="UTC"))]
    held = stamps("2024-12-23", "2024-12-24", "2025-01-02")
    args = ("SPY", "1d", datetime(2024, 12, 23, tzinfo=UTC), datetime(2025, 1, 3, tzinfo=UTC), NOW, held)
    assert find_gaps(*args, checked) == []


def test_a_session_not_yet_settled_is_not_missing() -> None:
    during = datetime(2025, 2, 28, 20, 0, tzinfo=UTC)  # 15:00 New York, session still open
    after_close = datetime(2025, 2, 28, 21, 5, tzinfo=UTC)  # 16:05, before the daily bar settles
    settled = datetime(2025, 2, 28, 21, 31, tzinfo=UTC)
    start = datetime(2025, 2, 27, 5, tzinfo=UTC)  # midnight New York
    held = stamps("2025-02-27")
    assert find_gaps("SPY", "1d", start, settled, during, held) == []
    assert find_gaps("SPY", "1d", start, settled, after_close, held) == []
    assert [g.sessions for g in find_gaps("SPY", "1d", start, settled, settled, held)] == [1]


def test_an_intraday_session_counts_when_its_bars_reach_from_open_to_close() -> None:
    day = pd.Timestamp("2024-11-29", tz="America/New_York")  # early close at 13:00
    full = pd.Series(pd.date_range(day + pd.Timedelta(hours=9, minutes=30), periods=42, freq="5min").tz_convert("UTC"))
    start, end = datetime(2024, 11, 29, tzinfo=UTC), datetime(2024, 11, 30, tzinfo=UTC)
    assert find_gaps("SPY", "5m", start, end, NOW, full) == []
    morning_only = full.iloc[:12]  # stops at 10:25
    assert [g.sessions for g in find_gaps("SPY", "5m", start, end, NOW, morning_only)] == [1]
    quiet_edges = full.iloc[3:-3]  # first and last quarter hour without trades
    assert find_gaps("SPY", "5m", start, end, NOW, quiet_edges) == []


def test_daily_gaps_become_one_fetch_and_distant_intraday_gaps_separate_fetches() -> None:
    a = Gap(pd.Timestamp("2024-01-02", tz="UTC"), pd.Timestamp("2024-01-04", tz="UTC"), 2)
    b = Gap(pd.Timestamp("2024-01-08", tz="UTC"), pd.Timestamp("2024-01-09", tz="UTC"), 1)
    c = Gap(pd.Timestamp("2024-03-01", tz="UTC"), pd.Timestamp("2024-03-02", tz="UTC"), 1)
    daily = fetch_spans([a, b, c], "1d")
    assert len(daily) == 1 and daily[0].sessions == 4
    intraday = fetch_spans([a, b, c], "5m")
    assert [s.gaps for s in intraday] == [(a, b), (c,)]
    ts = pd.Series(pd.to_datetime(["2024-01-03 00:00", "2024-01-05 00:00", "2024-01-08 12:00"], utc=True))
    assert in_gaps(ts, [a, b]).tolist() == [True, False, True]


@pytest.mark.parametrize(
    ("source", "interval", "start", "expected"),
    [
        ("alphavantage", "1d", "2010-01-01", 1),
        ("alphavantage", "5m", "2025-02-20", 1),  # within the recent window: one request
        ("alphavantage", "5m", "2024-10-15", 5),  # month by month: Oct..Feb
        ("yahoo", "1d", "2010-01-01", 1),
        ("yahoo", "1m", "2025-02-10", 4),  # 19 days in 7-day windows, plus the events request
        ("questrade", "1d", "2010-01-01", 4),  # 15 years of 2000-candle pages, plus the symbol lookup
    ],
)
def test_request_estimates_mirror_how_each_adapter_splits_a_range(
    source: str, interval: str, start: str, expected: int
) -> None:
    now = pd.Timestamp(NOW)
    assert span_requests(source, interval, pd.Timestamp(start, tz="UTC"), now, now) == expected
