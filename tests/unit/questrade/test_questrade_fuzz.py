"""Fuzzing: whatever Questrade sends, the parsers raise only DataError or TemporaryError (or subclasses)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.core.errors import AuthError, DataError, TemporaryError
from papertrader.data.adapters.questrade import (
    parse_accounts,
    parse_candles,
    parse_markets,
    parse_symbols,
    parse_time,
    parse_token_response,
    read_response,
)

NOW = datetime(2024, 6, 3, tzinfo=UTC)
ALLOWED = (DataError, TemporaryError)
PARSERS = [parse_time, parse_markets, parse_accounts, parse_symbols, parse_candles, parse_token_response]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["2026-03-03T16:48:34.140000-05:00", "2024-01-01T00:00:00", "9999-12-31T23:59:59+14:00", "Z"]),
)
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=25,
)
FIELDS = [
    "time",
    "markets",
    "accounts",
    "symbols",
    "candles",
    "name",
    "start",
    "end",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "symbol",
    "symbolId",
    "number",
    "type",
    "status",
    "startTime",
    "access_token",
    "refresh_token",
    "api_server",
    "expires_in",
    "token_type",
]
shaped = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(FIELDS), inner, max_size=6)),
    max_leaves=30,
)


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(PARSERS), st.one_of(json_like, shaped))
def test_every_parser_raises_only_project_errors(parser: Any, body: object) -> None:
    with contextlib.suppress(*ALLOWED):
        parser(body)


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(["candles", "symbols", "markets", "accounts"]),
    st.lists(st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=8), max_size=4),
)
def test_lists_of_near_miss_records_raise_only_project_errors(key: str, records: list[dict[str, Any]]) -> None:
    parser = {"candles": parse_candles, "symbols": parse_symbols, "markets": parse_markets, "accounts": parse_accounts}[
        key
    ]
    with contextlib.suppress(*ALLOWED):
        parser({key: records})


@settings(max_examples=120, deadline=None)
@given(
    st.integers(min_value=100, max_value=599),
    st.dictionaries(st.sampled_from(["x-ratelimit-reset", "x-ratelimit-remaining"]), st.text(max_size=30), max_size=2),
    st.one_of(st.binary(max_size=120), json_like.map(lambda v: json.dumps(v).encode())),
)
def test_any_http_answer_is_classified_into_project_errors(
    status: int, headers: dict[str, str], content: bytes
) -> None:
    with contextlib.suppress(*ALLOWED, AuthError):
        read_response(status, headers, content, what="Questrade test", now=NOW)
