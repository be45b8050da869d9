"""Every Alpha Vantage answer is classified by key and wording before parsing, and mapped to a project error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from av_bodies import (
    BAD_CALL,
    BAD_KEY,
    BURST,
    DAILY_CAP,
    DAILY_CSV,
    DEMO_KEY,
    HTML_PAGE,
    MINUTE_CAP,
    OLD_NOTE,
    PREMIUM_ONLY,
    UNKNOWN_NOTICE,
    intraday_body,
    recorded,
)

from papertrader.core.errors import (
    AuthError,
    ConfigError,
    DataError,
    QuotaExhaustedError,
    RateLimitedError,
    TemporaryError,
)
from papertrader.data.adapters.alphavantage.classify import (
    BodyKind,
    Classified,
    EndpointConfigError,
    PremiumEndpointError,
    classify_payload,
    classify_response,
    error_for,
)
from papertrader.data.adapters.alphavantage.keys import KeyOutcome, KeyTierError


def _json(body: Any) -> bytes:
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (BAD_CALL, BodyKind.BAD_CALL),
        (BAD_KEY, BodyKind.BAD_KEY),
        (DEMO_KEY, BodyKind.BAD_KEY),
        (DAILY_CAP, BodyKind.DAILY_CAP),
        (BURST, BodyKind.BURST),
        (PREMIUM_ONLY, BodyKind.PREMIUM_ONLY),
        (MINUTE_CAP, BodyKind.MINUTE_CAP),
        (OLD_NOTE, BodyKind.DAILY_CAP),
        (UNKNOWN_NOTICE, BodyKind.NOTICE),
        ({"Information": "Invalid inputs. Please refer to the API documentation."}, BodyKind.BAD_CALL),
        ({"Error Message": "Something unexpected went wrong."}, BodyKind.BAD_CALL),
    ],
)
def test_error_and_throttle_bodies_are_classified_by_key_and_wording(body: dict[str, str], kind: BodyKind) -> None:
    assert classify_payload(body).kind is kind
    assert classify_response(200, "application/json", _json(body)).kind is kind


def test_burst_wording_wins_over_the_daily_figure_it_also_mentions() -> None:
    assert "25 requests per day" in BURST["Information"]
    assert classify_payload(BURST).kind is BodyKind.BURST


@pytest.mark.parametrize(
    "body",
    [{}, {"Global Quote": {}}, {"Meta Data": {"2. Symbol": "IBM"}}, {"symbol": "IBM", "quarterlyEarnings": []}],
)
def test_empty_results_are_empty_not_data_nor_errors(body: dict[str, Any]) -> None:
    assert classify_payload(body).kind is BodyKind.EMPTY
    assert classify_payload(body).ok


@pytest.mark.parametrize(
    "name",
    ["global_quote.json", "mock_company_overview.json", "mock_technical_indicator.json", "mock_time_series.json"],
)
def test_recorded_bodies_are_data(name: str) -> None:
    assert classify_payload(recorded(name)).kind is BodyKind.DATA


def test_an_error_key_beside_data_still_makes_the_body_an_error() -> None:
    body = {**intraday_body(["2024-10-29 19:55:00"]), **DAILY_CAP}
    assert classify_payload(body).kind is BodyKind.DAILY_CAP


def test_an_unrecognised_information_beside_data_keeps_the_data() -> None:
    body = {**intraday_body(["2024-10-29 19:55:00"]), "Information": "Data provided for informational use."}
    assert classify_payload(body).kind is BodyKind.DATA


@pytest.mark.parametrize(
    ("status", "ctype", "body", "kind"),
    [
        (200, "text/html", HTML_PAGE, BodyKind.HTML),
        (200, "application/json", HTML_PAGE, BodyKind.HTML),
        (200, "application/json", b'{"Meta Data": {"1. Information": "Intraday', BodyKind.MALFORMED),
        (200, "application/json", b"", BodyKind.MALFORMED),
        (200, "application/json", b"\xff\xfe\x00garbage", BodyKind.MALFORMED),
        (200, "image/png", b"\x89PNG\r\n\x1a\n", BodyKind.MALFORMED),
        (200, "text/plain", b"timestamp,open\r\n", BodyKind.MALFORMED),
        (200, "application/json", b"[1, 2, 3]", BodyKind.UNEXPECTED),
        (200, "application/json", b'"just a string"', BodyKind.UNEXPECTED),
        (500, "text/html", HTML_PAGE, BodyKind.SERVER_ERROR),
        (502, "application/json", b"{}", BodyKind.SERVER_ERROR),
        (503, None, b"", BodyKind.SERVER_ERROR),
        (429, "text/plain", b"Too Many Requests", BodyKind.HTTP_THROTTLED),
        (401, "application/json", b"{}", BodyKind.HTTP_AUTH),
        (404, "text/html", b"<html>Not Found</html>", BodyKind.HTTP_NOT_FOUND),
        (400, "application/json", b"{}", BodyKind.BAD_CALL),
        (302, "text/html", b"", BodyKind.SERVER_ERROR),
    ],
)
def test_transport_level_answers_are_classified(status: int, ctype: str | None, body: bytes, kind: BodyKind) -> None:
    assert classify_response(status, ctype, body).kind is kind


def test_csv_data_is_text_but_csv_requests_still_see_json_errors() -> None:
    ok = classify_response(200, "application/x-download", DAILY_CSV.encode(), expect_csv=True)
    assert ok.kind is BodyKind.DATA and isinstance(ok.payload, str)
    err = classify_response(200, "application/json", _json(DAILY_CAP), expect_csv=True)
    assert err.kind is BodyKind.DAILY_CAP


def test_retry_after_header_is_kept_for_http_429() -> None:
    got = classify_response(429, "text/plain", b"slow down", retry_after="7")
    assert got.retry_after == 7.0
    error = error_for(got, "GLOBAL_QUOTE IBM")
    assert isinstance(error, RateLimitedError) and error.retry_after == 7.0


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        (BAD_CALL, DataError),
        (BAD_KEY, AuthError),
        (DAILY_CAP, QuotaExhaustedError),
        (BURST, RateLimitedError),
        (MINUTE_CAP, RateLimitedError),
        (PREMIUM_ONLY, PremiumEndpointError),
        (UNKNOWN_NOTICE, TemporaryError),
    ],
)
def test_each_class_maps_to_the_project_error_that_says_what_to_do(body: dict[str, str], error_type: type) -> None:
    error = error_for(classify_payload(body), "TIME_SERIES_INTRADAY IBM")
    assert isinstance(error, error_type)
    assert "TIME_SERIES_INTRADAY IBM" in str(error)


def test_premium_only_is_a_config_error_saying_the_key_tier_is_insufficient() -> None:
    error = error_for(classify_payload(PREMIUM_ONLY), "TIME_SERIES_DAILY_ADJUSTED IBM")
    assert isinstance(error, KeyTierError) and isinstance(error, ConfigError)
    assert "key tier is insufficient" in str(error)


def test_transport_classes_map_to_temporary_auth_or_config_errors() -> None:
    assert isinstance(error_for(Classified(BodyKind.HTML), "x"), TemporaryError)
    assert isinstance(error_for(Classified(BodyKind.MALFORMED), "x"), TemporaryError)
    assert isinstance(error_for(Classified(BodyKind.SERVER_ERROR), "x"), TemporaryError)
    assert isinstance(error_for(Classified(BodyKind.HTTP_AUTH), "x"), AuthError)
    assert isinstance(error_for(Classified(BodyKind.HTTP_NOT_FOUND), "x"), EndpointConfigError)
    assert isinstance(error_for(Classified(BodyKind.UNEXPECTED), "x"), DataError)
    assert error_for(Classified(BodyKind.DATA), "x") is None
    assert error_for(Classified(BodyKind.EMPTY), "x") is None


def test_key_outcomes_retire_on_caps_and_bad_keys_and_back_off_on_throttles() -> None:
    assert classify_payload(DAILY_CAP).key_outcome is KeyOutcome.DAILY_CAP
    assert classify_payload(BAD_KEY).key_outcome is KeyOutcome.BAD_KEY
    assert classify_payload(BURST).key_outcome is KeyOutcome.THROTTLED
    assert classify_payload(MINUTE_CAP).key_outcome is KeyOutcome.THROTTLED
    assert classify_payload(BAD_CALL).key_outcome is KeyOutcome.OK
    assert classify_payload(PREMIUM_ONLY).key_outcome is KeyOutcome.OK
