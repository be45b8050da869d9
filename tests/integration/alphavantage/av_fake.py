"""A fake Alpha Vantage behind httpx.MockTransport: answers by function, scripted per key, counts every send."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

_UNIT_HELPERS = Path(__file__).resolve().parents[2] / "unit" / "alphavantage"


def _helper(name: str) -> ModuleType:
    """Load a shared test helper module from tests/unit/alphavantage once (same module object everywhere)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _UNIT_HELPERS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


bodies = _helper("av_bodies")
keyfixtures = _helper("av_keyfixtures")

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def json_reply(body: Any, status: int = 200) -> httpx.Response:
    """A JSON answer as the vendor sends it (errors too come with HTTP 200)."""
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def _default(function: str, request: httpx.Request) -> httpx.Response:
    params = request.url.params
    if function == "TIME_SERIES_INTRADAY":
        interval = params.get("interval", "5min")
        return json_reply(
            bodies.intraday_body(
                ["2024-10-29 19:55:00", "2024-10-29 09:30:00", "2024-10-29 04:00:00"],
                interval,
                params.get("symbol", "IBM"),
            )
        )
    if params.get("datatype") == "csv":
        csv = bodies.MACRO_CSV if function in ("CPI", "UNEMPLOYMENT") else bodies.DAILY_CSV
        return httpx.Response(200, content=csv.encode(), headers={"content-type": "application/x-download"})
    table: dict[str, Any] = {
        "TIME_SERIES_DAILY": bodies.DAILY,
        "TIME_SERIES_DAILY_ADJUSTED": bodies.DAILY_ADJUSTED,
        "GLOBAL_QUOTE": bodies.DELAYED_QUOTE,
        "OVERVIEW": {"Symbol": "IBM", "LatestQuarter": "2024-09-30", "PERatio": "23.5", "EPS": "8.1"},
        "EARNINGS": bodies.EARNINGS,
        "INSIDER_TRANSACTIONS": bodies.INSIDER,
        "TOP_GAINERS_LOSERS": bodies.MOVERS,
        "NEWS_SENTIMENT": bodies.NEWS,
        "RSI": bodies.RSI,
        "MACD": bodies.MACD,
        "CPI": bodies.CPI,
        "TREASURY_YIELD": bodies.CPI,
        "WTI": bodies.WTI,
    }
    if function in table:
        return json_reply(table[function])
    return json_reply(bodies.BAD_CALL)


class FakeAlphaVantage:
    """Serves realistic bodies; `script(key, ...)` queues special answers (errors, throttles) for one key."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._scripts: dict[str, list[Reply]] = defaultdict(list)
        self._lock = threading.Lock()

    def script(self, key: str, *replies: Reply) -> None:
        """Queue answers for the next requests carrying `key` (then defaults resume)."""
        with self._lock:
            self._scripts[key].extend(replies)

    def handler(self, request: httpx.Request) -> httpx.Response:
        """The MockTransport handler: record, then answer from the key's script or by function."""
        key = request.url.params.get("apikey", "")
        with self._lock:
            self.requests.append(request)
            reply = self._scripts[key].pop(0) if self._scripts[key] else None
        if reply is None:
            return _default(request.url.params.get("function", ""), request)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)

    def transport(self) -> httpx.MockTransport:
        """An httpx transport that sends every request here."""
        return httpx.MockTransport(self.handler)

    def sent(self, key: str) -> int:
        """How many requests carried `key`."""
        return sum(1 for r in self.requests if r.url.params.get("apikey") == key)

    def functions(self, key: str | None = None) -> list[str]:
        """The function of each request (for one key if given), in order."""
        return [
            r.url.params.get("function", "") for r in self.requests if key is None or r.url.params.get("apikey") == key
        ]
