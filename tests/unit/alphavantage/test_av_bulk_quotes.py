"""REALTIME_BULK_QUOTES answers parsed into quotes, with bad rows quarantined and error bodies raised.

The bodies are hand-made in the documented wire format (no recorded bulk answer exists); the error and throttle
bodies are the recorded-wording ones the other parsers are tested on (av_bodies).
"""

from __future__ import annotations

import av_bodies as bodies
import pandas as pd
import pytest

from papertrader.core.errors import DataError, QuotaExhaustedError, RateLimitedError
from papertrader.data.adapters.alphavantage.bulk import parse_bulk_quotes
from papertrader.data.adapters.alphavantage.classify import PremiumEndpointError


def row(symbol: str, close: str, timestamp: str = "2024-07-31 15:59:58.123", volume: str = "1200") -> dict[str, str]:
    """One documented bulk-quote row (all strings, naive US/Eastern time)."""
    return {
        "symbol": symbol,
        "timestamp": timestamp,
        "open": "420.00",
        "high": "421.00",
        "low": "419.00",
        "close": close,
        "volume": volume,
        "previous_close": "418.00",
        "change": "2.00",
        "change_percent": "0.48",
        "extended_hours_quote": "0",
        "extended_hours_change": "0",
        "extended_hours_change_percent": "0",
    }


def body(*rows: object) -> dict[str, object]:
    return {"endpoint": "Realtime Bulk Quotes", "message": "", "data": list(rows)}


def test_a_bulk_answer_becomes_one_utc_quote_per_symbol() -> None:
    answer = parse_bulk_quotes(body(row("MSFT", "420.50"), row("AAPL", "218.10")), ["MSFT", "AAPL"])
    q = answer.quotes
    assert list(q["symbol"]) == ["MSFT", "AAPL"] and list(q["price"]) == [420.50, 218.10]
    assert q["ts"].iloc[0] == pd.Timestamp("2024-07-31 19:59:58.123", tz="UTC")  # EDT is UTC-4
    assert answer.quarantined == {}


def test_malformed_rows_are_quarantined_and_the_rest_kept() -> None:
    answer = parse_bulk_quotes(
        body(
            row("MSFT", "420.50"),
            row("AAPL", "-1"),
            row("IBM", "n/a"),
            row("SPY", "500.0", timestamp="yesterday-ish"),
            row("TSLA", "250.0"),
            "not a row",
            {"close": "1.0"},
        ),
        ["MSFT", "AAPL", "IBM", "SPY"],
    )
    assert list(answer.quotes["symbol"]) == ["MSFT"]
    assert set(answer.quarantined) == {"AAPL", "IBM", "SPY", "TSLA", "#5", "#6"}
    assert "finite positive" in answer.quarantined["AAPL"] and "not requested" in answer.quarantined["TSLA"]
    assert "New York time" in answer.quarantined["SPY"]


@pytest.mark.parametrize("throttle", [bodies.MINUTE_CAP, bodies.BURST])
def test_a_throttle_body_raises_a_rate_limit_never_parsed_as_quotes(throttle: dict[str, str]) -> None:
    with pytest.raises(RateLimitedError):
        parse_bulk_quotes(throttle, ["MSFT"])


@pytest.mark.parametrize("capped", [bodies.DAILY_CAP, bodies.OLD_NOTE])
def test_a_spent_budget_raises_quota_exhausted(capped: dict[str, str]) -> None:
    with pytest.raises(QuotaExhaustedError):
        parse_bulk_quotes(capped, ["MSFT"])


def test_a_key_without_the_entitlement_gets_a_clear_error() -> None:
    with pytest.raises(PremiumEndpointError):
        parse_bulk_quotes(bodies.PREMIUM_ONLY, ["MSFT"])
    no_data = {"endpoint": "Realtime Bulk Quotes", "message": "This is a premium API function; please subscribe."}
    with pytest.raises(PremiumEndpointError, match="premium"):
        parse_bulk_quotes(no_data, ["MSFT"])


def test_an_answer_without_a_data_list_is_a_data_error() -> None:
    with pytest.raises(DataError, match="no 'data' list"):
        parse_bulk_quotes({"endpoint": "Realtime Bulk Quotes", "rows": [{"symbol": "MSFT"}]}, ["MSFT"])
    with pytest.raises(DataError, match="not a list"):
        parse_bulk_quotes({"data": {"MSFT": "1"}}, ["MSFT"])
    assert parse_bulk_quotes({}, ["MSFT"]).quotes.empty
