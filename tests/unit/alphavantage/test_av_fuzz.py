"""Fuzzing: random JSON-ish payloads, random bytes and mutated recorded bodies only ever raise project errors."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from av_bodies import BURST, CPI, DAILY, DAILY_ADJUSTED, DAILY_CAP, EARNINGS, NEWS, RECORDINGS, intraday_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papertrader.core.errors import ConfigError, DataError, TemporaryError
from papertrader.data.adapters.alphavantage.bars import (
    parse_bars_csv,
    parse_daily,
    parse_daily_adjusted,
    parse_intraday,
)
from papertrader.data.adapters.alphavantage.classify import classify_response
from papertrader.data.adapters.alphavantage.fundamentals import (
    parse_earnings,
    parse_insider_transactions,
    parse_overview,
    parse_top_movers,
)
from papertrader.data.adapters.alphavantage.indicators import parse_indicator, parse_indicator_csv
from papertrader.data.adapters.alphavantage.macro import parse_macro, parse_macro_csv
from papertrader.data.adapters.alphavantage.news import parse_news
from papertrader.data.adapters.alphavantage.quote import parse_global_quote

#: What may escape a parser: data problems, temporary failures, and the credential/tier configuration
#: errors (AuthError, PremiumEndpointError) that error bodies map to. Nothing else (no KeyError, ValueError...).
ALLOWED = (DataError, TemporaryError, ConfigError)
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON_PARSERS: dict[str, Callable[[Any], pd.DataFrame]] = {
    "intraday": lambda p: parse_intraday(p, "IBM", "5min"),
    "daily": lambda p: parse_daily(p, "IBM"),
    "daily_adjusted": lambda p: parse_daily_adjusted(p, "IBM"),
    "quote": lambda p: parse_global_quote(p, "IBM"),
    "indicator": lambda p: parse_indicator(p, "IBM", "SMA"),
    "overview": lambda p: parse_overview(p, "IBM", datetime(2024, 1, 2, tzinfo=UTC)),
    "earnings": lambda p: parse_earnings(p, "IBM"),
    "insider": lambda p: parse_insider_transactions(p, "IBM"),
    "movers": parse_top_movers,
    "news": parse_news,
    "macro": parse_macro,
}
CSV_PARSERS: dict[str, Callable[[str], pd.DataFrame]] = {
    "bars_intraday": lambda t: parse_bars_csv(t, "IBM", "5min"),
    "bars_daily": lambda t: parse_bars_csv(t, "IBM", "1d"),
    "indicator": lambda t: parse_indicator_csv(t, "IBM", "15min"),
    "macro": parse_macro_csv,
}

VENDOR_KEYS = [
    "Meta Data",
    "Time Series (5min)",
    "Time Series (Daily)",
    "Global Quote",
    "Global Quote - DATA DELAYED BY 15 MINUTES",
    "Technical Analysis: SMA",
    "Error Message",
    "Information",
    "Note",
    "feed",
    "ticker_sentiment",
    "data",
    "date",
    "value",
    "quarterlyEarnings",
    "reportedDate",
    "reportTime",
    "fiscalDateEnding",
    "top_gainers",
    "last_updated",
    "time_published",
    "Symbol",
    "symbol",
    "2. Symbol",
    "4. Interval",
    "6. Time Zone",
    "1. open",
    "2. high",
    "4. close",
    "5. volume",
    "5. adjusted close",
    "8. split coefficient",
    "2024-10-29 09:30:00",
    "2024-10-29",
    "20:00:00",
]
VENDOR_STRINGS = [
    "None",
    "-",
    "",
    ".",
    "IBM",
    "1.5",
    "-0.5852%",
    "2024-10-29",
    "2024-10-29 20:00:00",
    "20241029T0930",
    "US/Eastern",
    "Not/AZone",
    "5min",
    "daily",
    "pre-market",
    "1e400",
    "NaN",
    "inf",
    DAILY_CAP["Information"],
    BURST["Information"],
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(VENDOR_STRINGS),
    st.text(max_size=20),
)
keys = st.one_of(st.sampled_from(VENDOR_KEYS), st.text(max_size=12))
json_ish = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=30,
)


def _expect_only_project_errors(call: Callable[[], object]) -> None:
    with contextlib.suppress(ALLOWED):
        call()


@FUZZ
@given(payload=json_ish, name=st.sampled_from(sorted(JSON_PARSERS)))
def test_random_json_ish_payloads_only_raise_project_errors(payload: Any, name: str) -> None:
    _expect_only_project_errors(lambda: JSON_PARSERS[name](payload))


@FUZZ
@given(
    payload=st.dictionaries(keys, json_ish, max_size=6),
    name=st.sampled_from(sorted(JSON_PARSERS)),
)
def test_random_objects_with_vendor_keys_only_raise_project_errors(payload: dict[str, Any], name: str) -> None:
    _expect_only_project_errors(lambda: JSON_PARSERS[name](payload))


def _through_the_wire(status: int, ctype: str | None, body: bytes, parser: str, csv: bool) -> None:
    """What the client does with an answer: classify, then parse only data."""
    classified = classify_response(status, ctype, body, expect_csv=csv)
    if not classified.ok:
        return
    if isinstance(classified.payload, str):
        CSV_PARSERS[parser if parser in CSV_PARSERS else "bars_daily"](classified.payload)
    else:
        JSON_PARSERS[parser if parser in JSON_PARSERS else "daily"](classified.payload)


@FUZZ
@given(
    status=st.sampled_from([200, 200, 200, 204, 301, 400, 401, 404, 429, 500, 503]),
    ctype=st.sampled_from([None, "application/json", "text/csv", "text/html", "application/octet-stream"]),
    body=st.binary(max_size=300),
    parser=st.sampled_from(sorted({*JSON_PARSERS, *CSV_PARSERS})),
    csv=st.booleans(),
)
def test_random_bytes_only_raise_project_errors(
    status: int, ctype: str | None, body: bytes, parser: str, csv: bool
) -> None:
    _expect_only_project_errors(lambda: _through_the_wire(status, ctype, body, parser, csv))


@FUZZ
@given(
    text=st.text(alphabet=st.sampled_from(list("0123456789-:., TtNone\r\nabcdefghijklmnopqrstuvwxyz%")), max_size=300),
    name=st.sampled_from(sorted(CSV_PARSERS)),
)
def test_random_csv_text_only_raises_project_errors(text: str, name: str) -> None:
    header = "timestamp,open,high,low,close,volume\r\n" if name.startswith("bars") else "time,value\r\n"
    _expect_only_project_errors(lambda: CSV_PARSERS[name](header + text))


def _recorded_bodies() -> list[tuple[str, Any]]:
    bodies: list[tuple[str, Any]] = [
        ("daily", DAILY),
        ("daily_adjusted", DAILY_ADJUSTED),
        ("earnings", EARNINGS),
        ("news", NEWS),
        ("macro", CPI),
        ("intraday", intraday_body(["2024-10-29 20:00:00", "2024-10-29 04:05:00"])),
    ]
    for name, parser in [
        ("global_quote.json", "quote"),
        ("mock_company_overview.json", "overview"),
        ("mock_technical_indicator.json", "indicator"),
        ("mock_time_series.json", "intraday"),
    ]:
        path = RECORDINGS / name
        if path.exists():
            body = json.loads(path.read_text())
            bodies.append(
                (
                    parser,
                    body
                    if parser != "intraday"
                    else {
                        **body,
                        "Meta Data": {**body["Meta Data"], "2. Symbol": "IBM", "4. Interval": "5min"},
                        "Time Series (5min)": body["Time Series (1min)"],
                    },
                )
            )
    return bodies


BODIES = _recorded_bodies()


def _mutate(value: Any, data: st.DataObject, depth: int = 0) -> Any:
    """Replace, drop or keep parts of a body at random, recursively."""
    choice = data.draw(st.integers(0, 4), label="mutation")
    if choice == 0:
        return data.draw(json_ish, label="replacement")
    if isinstance(value, dict) and value and depth < 4:
        out = dict(value)
        for key in data.draw(st.lists(st.sampled_from(sorted(out)), max_size=3, unique=True), label="keys"):
            if data.draw(st.booleans(), label="drop"):
                out.pop(key)
            else:
                out[key] = _mutate(out[key], data, depth + 1)
        return out
    if isinstance(value, list) and value and depth < 4:
        return [_mutate(v, data, depth + 1) for v in value[: data.draw(st.integers(0, len(value)), label="len")]]
    return value


@FUZZ
@given(data=st.data())
def test_mutated_recorded_bodies_only_raise_project_errors(data: st.DataObject) -> None:
    parser, body = data.draw(st.sampled_from(BODIES), label="body")
    mutated = _mutate(body, data)
    _expect_only_project_errors(lambda: JSON_PARSERS[parser](mutated))


@FUZZ
@given(data=st.data())
def test_truncated_recorded_bodies_only_raise_project_errors(data: st.DataObject) -> None:
    parser, body = data.draw(st.sampled_from(BODIES), label="body")
    raw = json.dumps(body, indent=4).encode()
    cut = data.draw(st.integers(0, len(raw)), label="cut")
    _expect_only_project_errors(lambda: _through_the_wire(200, "application/json", raw[:cut], parser, False))
