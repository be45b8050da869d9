"""Fuzzing: whatever Yahoo sends, only DataError or TemporaryError (or their subclasses) escape."""

from __future__ import annotations

import contextlib
import copy
import functools
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yahoo_fakes import chart_body, recorded_body

from papertrader.core.errors import DataError, TemporaryError
from papertrader.data.adapters.yahoo import adjust, parse_chart, read_chart_response

NOW = datetime(2024, 6, 3, tzinfo=UTC)
ALLOWED = (DataError, TemporaryError)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)),
    max_leaves=30,
)
KEYS = [
    "chart",
    "result",
    "meta",
    "timestamp",
    "indicators",
    "quote",
    "adjclose",
    "events",
    "splits",
    "dividends",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "exchangeTimezoneName",
    "symbol",
    "error",
    "date",
    "amount",
    "numerator",
    "denominator",
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:4]):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(body: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    body = copy.deepcopy(body)
    if not path:
        return value
    node = body
    for key in path[:-1]:
        node = node[key]
    if delete and isinstance(node, dict):
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return body


def _parse_and_adjust(body: object) -> None:
    with contextlib.suppress(*ALLOWED):
        payload = parse_chart(body)
        adjust(payload.symbol, "1d", [payload])


@settings(max_examples=150, deadline=None)
@given(json_like)
def test_arbitrary_json_only_raises_project_errors(body: object) -> None:
    _parse_and_adjust(body)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), json_like, max_size=4))
def test_chart_shaped_garbage_only_raises_project_errors(result: dict[str, Any]) -> None:
    _parse_and_adjust({"chart": {"result": [result], "error": None}})


BASES = [
    chart_body(
        [1714570200, 1714656600, 1714743000],
        adjclose=[10.0, 11.0, None],
        events={
            "dividends": {"1714656600": {"amount": 0.2, "date": 1714656600}},
            "splits": {"1714743000": {"date": 1714743000, "numerator": 2, "denominator": 1}},
        },
    ),
]


@functools.cache
def _real_bases() -> tuple[Any, ...]:
    names = ["chart-WSU.DE-2023-08-04-to-2023-08-09.json", "chart-AAPL-2020-08-31-to-2020-11-07.json"]
    return tuple(recorded_body(n) for n in names)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_and_handmade_bodies_only_raise_project_errors(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from([*BASES, *_real_bases()]))
    path = data.draw(st.sampled_from(_paths(base)))
    value = data.draw(json_like)
    delete = data.draw(st.booleans())
    _parse_and_adjust(_mutate(base, path, value, delete))


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=100, max_value=599),
    st.dictionaries(st.sampled_from(["retry-after", "content-type", "location"]), st.text(max_size=40), max_size=3),
    st.one_of(st.binary(max_size=200), json_like.map(lambda v: json.dumps(v).encode())),
)
def test_any_status_headers_and_bytes_only_raise_project_errors(
    status: int, headers: dict[str, str], content: bytes
) -> None:
    with contextlib.suppress(*ALLOWED):
        read_chart_response(status, headers, content, symbol="AAPL", now=NOW)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_truncations_of_a_real_body_only_raise_project_errors(tail: bytes) -> None:
    full = json.dumps(recorded_body("chart-BTC-USD-2020-01-01-to-2020-01-03.json")).encode()
    cut = full[: len(tail) * 7 % len(full)] + tail[:3]
    with contextlib.suppress(*ALLOWED):
        read_chart_response(200, {"content-type": "application/json"}, cut, symbol="BTC-USD", now=NOW)
