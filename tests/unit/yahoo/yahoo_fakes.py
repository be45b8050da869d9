"""Helpers for the Yahoo tests: recorded bodies, a counting MockTransport and hand-made chart bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from papertrader.config.yahoo import YahooSettings
from papertrader.core.clock import SimClock
from papertrader.data.adapters.yahoo import YahooSource

#: ../shared/data from the project root (as in tests/conftest.py). Computed here rather than imported with
#: ``from conftest import SHARED``: once tests/unit/persistence/conftest.py is collected, the name ``conftest``
#: refers to that module, so the import fails for test directories collected after it.
SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"
RECORDINGS = SHARED / "api-recordings" / "yahoo"


def recording_path(name: str) -> Path:
    """Path of one recorded body; tests skip when shared/data is absent."""
    import pytest

    path = RECORDINGS / name
    if not path.exists():
        pytest.skip(f"recording not available: {path}")
    return path


def recorded_body(name: str) -> dict[str, Any]:
    """The bodyJson of a recorded {request, response} wrapper."""
    wrapped = json.loads(recording_path(name).read_text())
    body: dict[str, Any] = wrapped["response"]["bodyJson"]
    return body


def chart_body(
    ts: list[int] | None,
    *,
    symbol: str = "TEST",
    tz: str = "America/New_York",
    quote: dict[str, list[Any]] | None = None,
    adjclose: list[Any] | None = None,
    events: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A hand-made v8 chart body in Yahoo's exact shape."""
    result: dict[str, Any] = {
        "meta": {"symbol": symbol, "currency": "USD", "exchangeTimezoneName": tz, "gmtoffset": -18000},
        "indicators": {"quote": [quote if quote is not None else {}]},
    }
    if ts is not None:
        result["timestamp"] = ts
        if quote is None:
            n = len(ts)
            result["indicators"]["quote"] = [
                {
                    "open": [10.0 + i for i in range(n)],
                    "high": [11.0 + i for i in range(n)],
                    "low": [9.0 + i for i in range(n)],
                    "close": [10.5 + i for i in range(n)],
                    "volume": [1000 + i for i in range(n)],
                }
            ]
    if adjclose is not None:
        result["indicators"]["adjclose"] = [{"adjclose": adjclose}]
    if events is not None:
        result["events"] = events
    return {"chart": {"result": [result], "error": None}}


@dataclass
class FakeYahoo:
    """A MockTransport handler that serves scripted responses and records every request."""

    responses: list[Callable[[httpx.Request], httpx.Response]] = field(default_factory=list)
    default: Callable[[httpx.Request], httpx.Response] | None = None
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Answer with the next scripted response (or the default)."""
        self.requests.append(request)
        if self.responses:
            return self.responses.pop(0)(request)
        assert self.default is not None, f"unexpected request {request.url}"
        return self.default(request)

    def transport(self) -> httpx.MockTransport:
        """This fake as an httpx transport."""
        return httpx.MockTransport(self)

    def params(self, i: int) -> dict[str, str]:
        """Query parameters of request i."""
        return dict(self.requests[i].url.params)


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> Callable[..., httpx.Response]:
    """A scripted JSON response."""
    return lambda request: httpx.Response(status, json=body, headers=headers)


def raw_response(
    content: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Callable[..., httpx.Response]:
    """A scripted response with raw bytes."""
    return lambda request: httpx.Response(status, content=content, headers=headers)


def make_source(fake: FakeYahoo, now: datetime, **settings: Any) -> tuple[YahooSource, SimClock]:
    """A YahooSource over the fake, on a SimClock (sleeps advance it, nothing waits)."""
    clock = SimClock(now)
    base = {"max_attempts": 1, "backoff_base_s": 1.0}
    base.update(settings)
    source = YahooSource(settings=YahooSettings(**base), clock=clock, transport=fake.transport())
    return source, clock


def utc(*args: int) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
