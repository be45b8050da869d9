"""Candles: intervals mapped, pages of at most 2,000 that are contiguous and never overlap, symbols cached."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from questrade_fakes import FakeQuestrade, make_source

from papertrader.core.errors import DataError
from papertrader.data.adapters.questrade import QUESTRADE_INTERVALS, plan_pages, questrade_ticker, wire_time

AAPL = {"symbol": "AAPL", "symbolId": 8049, "listingExchange": "NASDAQ", "currency": "USD"}
AAPL_NEO = {"symbol": "AAPL.NE", "symbolId": 39213981, "listingExchange": "NEO", "currency": "CAD"}
SHOP_TO = {"symbol": "SHOP.TO", "symbolId": 4004281, "listingExchange": "TSX", "currency": "CAD"}
NOW = datetime(2024, 6, 3, 20, tzinfo=UTC)


def fake_with_symbols() -> FakeQuestrade:
    return FakeQuestrade(symbols={"AAPL": [AAPL_NEO, AAPL], "SHOP.TO": [SHOP_TO], "XYZ.VN": []})


def test_every_interval_maps_to_questrade_granularity() -> None:
    assert QUESTRADE_INTERVALS == {
        "1m": "OneMinute",
        "5m": "FiveMinutes",
        "15m": "FifteenMinutes",
        "30m": "HalfHour",
        "1h": "OneHour",
        "1d": "OneDay",
    }


def test_wire_time_is_second_precision_eastern_with_offset() -> None:
    assert wire_time(datetime(2014, 10, 1, 4, 0, 0, 123456, tzinfo=UTC)) == "2014-10-01T00:00:00-04:00"
    assert wire_time(datetime(2014, 12, 1, 5, tzinfo=UTC)) == "2014-12-01T00:00:00-05:00"


def test_long_hourly_range_is_paged_by_2000_contiguous_and_non_overlapping(tmp_path: Path) -> None:
    fake = fake_with_symbols()
    source, _ = make_source(fake, tmp_path)
    start, end = datetime(2023, 1, 2, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    bars = source.fetch_bars("AAPL", "1h", start, end)
    expected_pages = math.ceil((end - start) / timedelta(hours=2000))
    assert len(fake.candle_ranges) == expected_pages == 5
    assert fake.candle_ranges[0][0] == start and fake.candle_ranges[-1][1] == end
    for (a_start, a_end), (b_start, _) in itertools.pairwise(fake.candle_ranges):
        assert a_end == b_start and a_start < a_end
    assert all(e - s <= timedelta(hours=2000) for s, e in fake.candle_ranges)
    assert bars["ts"].is_unique and bars["ts"].is_monotonic_increasing
    # the fake counts the inclusive endTime candle too; none is duplicated across pages
    assert len(bars) == 261 * 7  # 2023 weekdays x 7 hourly candles (09:00-15:00 Eastern)


def test_long_minute_range_never_asks_for_more_than_2000_candles(tmp_path: Path) -> None:
    fake = fake_with_symbols()
    source, _ = make_source(fake, tmp_path)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    bars = source.fetch_bars("AAPL", "1m", start, start + timedelta(days=7))
    assert len(fake.candle_ranges) == math.ceil(7 * 24 * 60 / 2000)
    assert bars["ts"].is_unique and len(bars) == 5 * 7 * 60


def test_ten_years_of_daily_candles_take_two_requests_stamped_midnight_new_york(tmp_path: Path) -> None:
    fake = fake_with_symbols()
    source, _ = make_source(fake, tmp_path)
    start = datetime(2014, 1, 1, 5, tzinfo=UTC)
    bars = source.fetch_bars("SHOP.TO", "1d", start, datetime(2024, 1, 1, 5, tzinfo=UTC))
    assert len(fake.candle_ranges) == 2
    local = bars["ts"].dt.tz_convert("America/New_York")
    assert (local.dt.hour == 0).all() and (local.dt.minute == 0).all()
    assert bars["ts"].is_unique and list(bars.columns) == ["symbol", "ts", "open", "high", "low", "close", "volume"]
    assert bars["symbol"].unique().tolist() == ["SHOP.TO"]


def test_candle_request_uses_the_symbol_id_interval_and_wire_times(tmp_path: Path) -> None:
    fake = fake_with_symbols()
    source, _ = make_source(fake, tmp_path)
    source.fetch_bars("AAPL", "1d", datetime(2024, 5, 1, 4, tzinfo=UTC), datetime(2024, 5, 8, 4, tzinfo=UTC))
    candle_requests = [r for r in fake.api_requests if "/candles/" in r.url.path]
    request = candle_requests[0]
    assert request.url.path == "/v1/markets/candles/8049"
    assert request.url.params["interval"] == "OneDay"
    assert request.url.params["startTime"] == "2024-05-01T00:00:00-04:00"


def test_symbol_ids_are_found_by_exact_match_and_cached(tmp_path: Path) -> None:
    fake = fake_with_symbols()
    source, _ = make_source(fake, tmp_path, symbol_cache_file=tmp_path / "symbols.json")
    assert source.symbol_id("AAPL") == 8049
    assert source.symbol_id("aapl") == 8049
    assert source.symbol_id("SHOP.TO") == 4004281
    searches = [r for r in fake.api_requests if r.url.path == "/v1/symbols/search"]
    assert len(searches) == 2
    # the file cache survives a restart
    again, _ = make_source(FakeQuestrade(), tmp_path, symbol_cache_file=tmp_path / "symbols.json")
    assert again.symbol_id("SHOP.TO") == 4004281


def test_unknown_symbol_is_a_data_error(tmp_path: Path) -> None:
    source, _ = make_source(fake_with_symbols(), tmp_path)
    with pytest.raises(DataError, match=r"no symbol 'XYZ\.VN'"):
        source.fetch_bars("XYZ.V", "1d", datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 8, tzinfo=UTC))


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("AAPL", "AAPL"),
        ("SHOP.TO", "SHOP.TO"),
        ("shop.to", "SHOP.TO"),
        ("XYZ.V", "XYZ.VN"),
        ("BRK-B", "BRK.B"),
        ("RCI-B.TO", "RCI.B.TO"),
    ],
)
def test_tickers_are_spelled_the_questrade_way(ours: str, theirs: str) -> None:
    assert questrade_ticker(ours) == theirs


def test_pages_cover_the_range_exactly() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    pages = plan_pages("5m", start, start + timedelta(days=30), 2000)
    assert pages[0].start == start and pages[-1].end == start + timedelta(days=30)
    assert all(p.end - p.start <= timedelta(minutes=5 * 2000) for p in pages)
    assert all(a.end == b.start for a, b in itertools.pairwise(pages))


def test_range_ending_in_the_future_is_cut_to_now(tmp_path: Path) -> None:
    fake = fake_with_symbols()
    source, _ = make_source(fake, tmp_path, now=NOW)
    bars = source.fetch_bars("AAPL", "1d", NOW - timedelta(days=3), NOW + timedelta(days=30))
    assert fake.candle_ranges[-1][1] == NOW
    assert (bars["ts"] < pd.Timestamp(NOW)).all()
