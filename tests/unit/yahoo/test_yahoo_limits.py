"""Yahoo's lookback windows and per-request spans are enforced before anything is sent."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pandas as pd
import pytest
from yahoo_fakes import FakeYahoo, chart_body, json_response, make_source, utc

from papertrader.core.errors import DataError
from papertrader.data.adapters.yahoo import plan_requests

NOW = utc(2024, 6, 3, 20)


def test_1m_start_older_than_30_days_is_a_data_error_and_nothing_is_sent() -> None:
    fake = FakeYahoo()
    source, _ = make_source(fake, NOW)
    with pytest.raises(DataError, match=r"1m bars only for the last 30 days.*CLIP_TO_LOOKBACK"):
        source.fetch_bars("AAPL", "1m", NOW - timedelta(days=31), NOW - timedelta(days=29))
    assert fake.requests == []


def test_1m_range_entirely_outside_the_window_is_refused_even_when_clipping() -> None:
    with pytest.raises(DataError):
        plan_requests("1m", NOW - timedelta(days=60), NOW - timedelta(days=40), NOW, clip=True)


def test_clipping_moves_the_start_into_the_window_and_reports_it() -> None:
    start = NOW - timedelta(days=75)
    plan = plan_requests("5m", start, NOW, NOW, margin=timedelta(hours=1), clip=True)
    assert plan.clipped_from == start
    assert plan.start == NOW - timedelta(days=60) + timedelta(hours=1)


def test_source_with_clipping_reports_the_clipped_start_in_its_result() -> None:
    fake = FakeYahoo(default=json_response(chart_body(None)))
    source, _ = make_source(fake, NOW, clip_to_lookback=True, events_through_now=False)
    data = source.fetch_chart("AAPL", "15m", NOW - timedelta(days=90), NOW - timedelta(days=10))
    assert data.clipped_from == NOW - timedelta(days=90)
    assert int(fake.params(0)["period1"]) >= int((NOW - timedelta(days=60)).timestamp())


def test_1m_range_is_split_into_contiguous_requests_of_at_most_7_days() -> None:
    plan = plan_requests("1m", NOW - timedelta(days=20), NOW, NOW, margin=timedelta(hours=1))
    assert len(plan.windows) == 3
    assert all(w.end - w.start <= timedelta(days=7) for w in plan.windows)
    assert all(a.end == b.start for a, b in itertools.pairwise(plan.windows))
    assert plan.windows[0].start == NOW - timedelta(days=20) and plan.windows[-1].end == NOW


@pytest.mark.parametrize(("interval", "ok_days", "bad_days"), [("5m", 59, 61), ("30m", 59, 61), ("1h", 729, 731)])
def test_intraday_windows_follow_the_documented_days(interval: str, ok_days: int, bad_days: int) -> None:
    plan = plan_requests(interval, NOW - timedelta(days=ok_days), NOW, NOW, margin=timedelta(hours=1))
    assert len(plan.windows) == 1
    with pytest.raises(DataError):
        plan_requests(interval, NOW - timedelta(days=bad_days), NOW, NOW, margin=timedelta(hours=1))


def test_daily_bars_have_no_lookback_limit() -> None:
    plan = plan_requests("1d", utc(1980, 1, 1), NOW, NOW)
    assert len(plan.windows) == 1


def test_an_end_in_the_future_is_cut_to_now() -> None:
    plan = plan_requests("1h", NOW - timedelta(days=2), NOW + timedelta(days=5), NOW)
    assert plan.end == NOW


def test_daily_fetch_asks_events_through_now_in_one_request_and_trims_the_extra_bars() -> None:
    t0 = int(utc(2024, 5, 1, 13, 30).timestamp())
    body = chart_body([t0 + i * 86400 for i in range(10)])
    fake = FakeYahoo(default=json_response(body))
    source, _ = make_source(fake, NOW)
    bars = source.fetch_bars("AAPL", "1d", utc(2024, 5, 2, 4), utc(2024, 5, 5, 4))
    assert len(fake.requests) == 1
    assert int(fake.params(0)["period2"]) == int(NOW.timestamp())
    assert [ts.tz_convert("America/New_York").day for ts in bars["ts"]] == [2, 3, 4]


def test_intraday_fetch_adds_one_daily_request_for_later_splits_and_undoes_them() -> None:
    start = utc(2024, 5, 20, 13, 30)
    intraday = chart_body([int(start.timestamp()) + 60 * i for i in range(3)])
    split_ts = int(utc(2024, 5, 28, 13, 30).timestamp())
    daily = chart_body(
        [int(utc(2024, 5, 20 + i, 13, 30).timestamp()) for i in range(10)],
        events={"splits": {str(split_ts): {"date": split_ts, "numerator": 2, "denominator": 1, "splitRatio": "2:1"}}},
    )

    def route(request):  # type: ignore[no-untyped-def]
        import httpx

        body = daily if request.url.params["interval"] == "1d" else intraday
        return httpx.Response(200, json=body)

    fake = FakeYahoo(default=route)
    source, _ = make_source(fake, NOW)
    data = source.fetch_chart("AAPL", "5m", start, start + timedelta(hours=1))
    assert [r.url.params["interval"] for r in fake.requests] == ["5m", "1d"]
    assert data.requests == 2
    # Yahoo's 10.5 was halved for the later 2:1 split; the raw print was 21.0
    assert data.bars["close"].iloc[0] == pytest.approx(21.0)
    assert data.bars["adj_factor"].iloc[0] == pytest.approx(0.5)
    assert data.bars["ts"].iloc[0] == pd.Timestamp(start)


def test_intraday_bars_are_stamped_at_their_start_in_utc() -> None:
    start = utc(2024, 5, 30, 13, 30)
    fake = FakeYahoo(default=json_response(chart_body([int(start.timestamp()) + 300 * i for i in range(4)])))
    source, _ = make_source(fake, NOW, events_through_now=False)
    bars = source.fetch_bars("AAPL", "5m", start, start + timedelta(minutes=15))
    assert list(bars["ts"]) == [pd.Timestamp(start) + pd.Timedelta(minutes=5 * i) for i in range(3)]


def test_daily_session_date_comes_from_the_exchange_timezone_not_utc() -> None:
    # 00:00 in Tokyo on 2024-05-21 is 15:00 UTC on 2024-05-20: the session is the 21st.
    ts = int(pd.Timestamp("2024-05-21 00:00", tz="Asia/Tokyo").timestamp())
    fake = FakeYahoo(default=json_response(chart_body([ts], symbol="7203.T", tz="Asia/Tokyo")))
    source, _ = make_source(fake, NOW, events_through_now=False)
    bars = source.fetch_bars("7203.T", "1d", utc(2024, 5, 19), utc(2024, 5, 25))
    assert bars["ts"].iloc[0] == pd.Timestamp("2024-05-21", tz="America/New_York").tz_convert("UTC")
