"""Every Yahoo failure becomes the project error that tells the operator what to do; nothing else escapes."""

from __future__ import annotations

import math

import httpx
import pandas as pd
import pytest
from yahoo_fakes import FakeYahoo, chart_body, json_response, make_source, raw_response, utc

from papertrader.core.errors import DataError, RateLimitedError, TemporaryError

NOW = utc(2024, 6, 3, 20)
START, END = utc(2024, 5, 1), utc(2024, 5, 8)
NOT_FOUND = {
    "chart": {"result": None, "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"}}
}
UNPROCESSABLE = {
    "chart": {
        "result": None,
        "error": {
            "code": "Unprocessable Entity",
            "description": (
                "1m data not available for startTime=1 and endTime=2. "
                "Only 7 days worth of 1m granularity data are allowed to be fetched per request."
            ),
        },
    }
}
BAD_REQUEST = {
    "chart": {
        "result": None,
        "error": {"code": "Bad Request", "description": "Invalid input - interval=7m is not supported."},
    }
}
CONSENT_HTML = (
    b"<!DOCTYPE html><html><head><title>Yahoo is part of the Yahoo family of brands</title></head>"
    b"<body><form action='https://consent.yahoo.com/v2/collectConsent'>...</form></body></html>"
)
OUTAGE_HTML = b"<html><body><h1>Will be right back...</h1><p>Thank you for your patience.</p></body></html>"
DAY = 86400
T0 = 1714570200  # 2024-05-01 13:30 UTC, a session open


def fetch(fake: FakeYahoo, **settings: object) -> pd.DataFrame:
    source, _ = make_source(fake, NOW, events_through_now=False, **settings)
    return source.fetch_bars("AAPL", "1d", START, END)


def test_404_unknown_symbol_is_a_data_error_naming_the_symbol() -> None:
    with pytest.raises(DataError, match=r"unknown or delisted symbol.*No data found"):
        fetch(FakeYahoo(default=json_response(NOT_FOUND, 404)))


def test_422_range_too_long_for_interval_is_a_data_error() -> None:
    with pytest.raises(DataError, match=r"refused the range or interval.*422"):
        fetch(FakeYahoo(default=json_response(UNPROCESSABLE, 422)))


def test_400_bad_interval_is_a_data_error() -> None:
    with pytest.raises(DataError, match=r"400.*not supported"):
        fetch(FakeYahoo(default=json_response(BAD_REQUEST, 400)))


def test_chart_error_inside_a_200_body_is_a_data_error_not_data() -> None:
    with pytest.raises(DataError, match="Not Found"):
        fetch(FakeYahoo(default=json_response(NOT_FOUND, 200)))


def test_429_plain_text_with_retry_after_seconds_is_rate_limited_with_that_wait() -> None:
    fake = FakeYahoo(
        default=raw_response(b"Too Many Requests", 429, {"Retry-After": "7", "content-type": "text/plain"})
    )
    with pytest.raises(RateLimitedError) as caught:
        fetch(fake)
    assert caught.value.retry_after == 7.0
    assert isinstance(caught.value, TemporaryError)


def test_429_with_http_date_retry_after_is_measured_on_the_injected_clock() -> None:
    fake = FakeYahoo(default=raw_response(b"Too Many Requests", 429, {"Retry-After": "Mon, 03 Jun 2024 20:01:30 GMT"}))
    with pytest.raises(RateLimitedError) as caught:
        fetch(fake)
    assert caught.value.retry_after == 90.0


def test_429_without_retry_after_has_unknown_wait() -> None:
    with pytest.raises(RateLimitedError) as caught:
        fetch(FakeYahoo(default=raw_response(b"Too Many Requests", 429)))
    assert caught.value.retry_after is None


def test_429_short_retry_after_is_slept_on_the_clock_then_retried() -> None:
    fake = FakeYahoo(
        responses=[raw_response(b"Too Many Requests", 429, {"Retry-After": "5"})],
        default=json_response(chart_body([T0, T0 + DAY])),
    )
    source, clock = make_source(fake, NOW, events_through_now=False, max_attempts=3)
    bars = source.fetch_bars("AAPL", "1d", START, END)
    assert len(bars) == 2 and len(fake.requests) == 2
    assert (clock.now() - NOW).total_seconds() == 5.0


def test_429_longer_than_max_retry_after_is_raised_at_once_without_retrying() -> None:
    fake = FakeYahoo(default=raw_response(b"slow down", 429, {"Retry-After": "3600"}))
    with pytest.raises(RateLimitedError):
        fetch(fake, max_attempts=5, max_retry_after_s=60)
    assert len(fake.requests) == 1


def test_consent_html_page_is_a_data_error() -> None:
    fake = FakeYahoo(default=raw_response(CONSENT_HTML, 200, {"content-type": "text/html"}))
    with pytest.raises(DataError, match="consent"):
        fetch(fake)


def test_redirect_to_consent_is_a_data_error() -> None:
    fake = FakeYahoo(default=raw_response(b"", 302, {"location": "https://guce.yahoo.com/consent?x=1"}))
    with pytest.raises(DataError, match="consent"):
        fetch(fake)


def test_outage_html_page_is_temporary_and_retried_with_backoff_on_the_clock() -> None:
    fake = FakeYahoo(default=raw_response(OUTAGE_HTML, 200, {"content-type": "text/html; charset=utf-8"}))
    source, clock = make_source(fake, NOW, events_through_now=False, max_attempts=3, backoff_base_s=2.0)
    with pytest.raises(TemporaryError, match="HTML"):
        source.fetch_bars("AAPL", "1d", START, END)
    assert len(fake.requests) == 3
    waited = (clock.now() - NOW).total_seconds()
    assert 1.0 + 2.0 <= waited <= 2.0 + 4.0  # two backoffs: [1, 2] and [2, 4] seconds


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_temporary(status: int) -> None:
    with pytest.raises(TemporaryError, match=str(status)):
        fetch(FakeYahoo(default=raw_response(b"oops", status)))


def test_5xx_then_success_returns_the_data() -> None:
    fake = FakeYahoo(responses=[raw_response(b"", 503)], default=json_response(chart_body([T0])))
    assert len(fetch(fake, max_attempts=2)) == 1


def test_truncated_json_body_is_temporary() -> None:
    content = b'{"chart": {"result": [{"meta": {"symbol": "AAPL", "exchangeTimezoneName": "America/New_Yo'
    with pytest.raises(TemporaryError, match="truncated"):
        fetch(FakeYahoo(default=raw_response(content, 200, {"content-type": "application/json"})))


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("slow"),
        httpx.ConnectTimeout("slow"),
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("cut"),
    ],
)
def test_transport_failures_are_wrapped_as_temporary(exc: Exception) -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise exc

    with pytest.raises(TemporaryError):
        fetch(FakeYahoo(default=boom))


def test_all_null_bars_are_dropped_and_partial_nulls_stay_missing_not_invented() -> None:
    quote = {
        "open": [10.0, None, 12.0, 13.0],
        "high": [11.0, None, 13.0, 14.0],
        "low": [9.0, None, 11.0, 12.0],
        "close": [10.5, None, None, 13.5],
        "volume": [100, None, 300, None],
    }
    fake = FakeYahoo(default=json_response(chart_body([T0, T0 + DAY, T0 + 2 * DAY, T0 + 5 * DAY], quote=quote)))
    source, _ = make_source(fake, NOW, events_through_now=False)
    data = source.fetch_chart("AAPL", "1d", START, END)
    assert data.dropped_null == 1
    assert len(data.bars) == 3
    assert math.isnan(data.bars["close"].iloc[1]) and data.bars["open"].iloc[1] == 12.0
    assert math.isnan(data.bars["volume"].iloc[2])


def test_arrays_of_unequal_length_are_a_data_error() -> None:
    body = chart_body([T0, T0 + DAY], quote={"open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0], "volume": [1]})
    with pytest.raises(DataError, match="values for 2 timestamps"):
        fetch(FakeYahoo(default=json_response(body)))


def test_unknown_exchange_timezone_is_a_data_error() -> None:
    with pytest.raises(DataError, match="exchangeTimezoneName"):
        fetch(FakeYahoo(default=json_response(chart_body([T0], tz="Mars/Olympus_Mons"))))


def test_empty_symbol_is_refused_before_any_request() -> None:
    fake = FakeYahoo()
    source, _ = make_source(fake, NOW)
    with pytest.raises(DataError):
        source.fetch_bars("  ", "1d", START, END)
    assert fake.requests == []
