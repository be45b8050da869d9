"""A fake Questrade (login + API) behind httpx.MockTransport, enforcing single-use refresh tokens."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from papertrader.config.questrade import QuestradeSettings
from papertrader.core.clock import SimClock
from papertrader.data.adapters.questrade import QuestradeClient, QuestradeSource

#: ../shared/data from the project root (as in tests/conftest.py). Computed here rather than imported with
#: ``from conftest import SHARED``: once tests/unit/persistence/conftest.py is collected, the name ``conftest``
#: refers to that module, so the import fails for test directories collected after it.
SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"
RECORDINGS = SHARED / "api-recordings" / "questrade"
API_SERVER = "https://api07.iq.questrade.com/"
BOOTSTRAP = "BOOTSTRAP-rt-0000aaaa"
NOW = datetime(2024, 6, 3, 20, tzinfo=UTC)
DURATIONS = {
    "OneMinute": timedelta(minutes=1),
    "FiveMinutes": timedelta(minutes=5),
    "FifteenMinutes": timedelta(minutes=15),
    "HalfHour": timedelta(minutes=30),
    "OneHour": timedelta(hours=1),
    "OneDay": timedelta(days=1),
}


def recorded(name: str) -> bytes:
    """A recorded Questrade body; tests skip when shared/data is absent."""
    path = RECORDINGS / name
    if not path.exists():
        pytest.skip(f"recording not available: {path}")
    return path.read_bytes()


@dataclass
class FakeQuestrade:
    """Login and API in one handler. Tokens are single-use; every request is recorded."""

    valid_refresh: set[str] = field(default_factory=lambda: {BOOTSTRAP})
    access: str | None = None
    issued: int = 0
    refresh_tokens_received: list[str] = field(default_factory=list)
    api_requests: list[httpx.Request] = field(default_factory=list)
    candle_ranges: list[tuple[datetime, datetime]] = field(default_factory=list)
    #: Hooks: each API request pops one if present and answers with it instead.
    scripted: list[Callable[[httpx.Request], httpx.Response | None]] = field(default_factory=list)
    #: Called on every API request before answering (e.g. to check the token file).
    on_api: Callable[[httpx.Request], None] | None = None
    symbols: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    expires_in: int = 1800
    inclusive_end: bool = True
    #: markets/quotes: the lastTradeTime every quote carries, and the symbolIds each request asked for
    quote_time: datetime = NOW
    quote_requests: list[list[int]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Route a request to login or API."""
        if request.url.host == "login.questrade.com":
            return self._login(request)
        return self._api(request)

    def transport(self) -> httpx.MockTransport:
        """This fake as an httpx transport."""
        return httpx.MockTransport(self)

    def _login(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST" and request.url.path == "/oauth2/token"
        assert "refresh_token" not in str(request.url), "the token must travel in the body, not the URL"
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        assert form["grant_type"] == "refresh_token"
        token = form["refresh_token"]
        self.refresh_tokens_received.append(token)
        if token not in self.valid_refresh:
            return httpx.Response(400, text="Bad Request")
        self.valid_refresh.discard(token)
        self.issued += 1
        new_refresh = f"rt-{self.issued:04d}-secretrefresh"
        self.valid_refresh = {new_refresh}
        self.access = f"at-{self.issued:04d}-secretaccess"
        return httpx.Response(
            200,
            json={
                "access_token": self.access,
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "refresh_token": new_refresh,
                "api_server": API_SERVER,
            },
        )

    def _api(self, request: httpx.Request) -> httpx.Response:
        self.api_requests.append(request)
        assert str(request.url).startswith(API_SERVER), request.url
        if self.on_api is not None:
            self.on_api(request)
        if request.headers.get("authorization") != f"Bearer {self.access}":
            return httpx.Response(401, json={"code": 1017, "message": "Access token is invalid"})
        if self.scripted:
            answer = self.scripted.pop(0)(request)
            if answer is not None:
                return answer
        path = request.url.path
        if path == "/v1/time":
            return httpx.Response(200, content=recorded("time.json"))
        if path == "/v1/markets":
            return httpx.Response(200, content=recorded("markets.json"))
        if path == "/v1/accounts":
            return httpx.Response(200, content=recorded("accounts.json"))
        if path == "/v1/symbols/search":
            prefix = request.url.params["prefix"]
            return httpx.Response(200, json={"symbols": self.symbols.get(prefix, [])})
        if path.startswith("/v1/markets/candles/"):
            return self._candles(request)
        if path == "/v1/markets/quotes":
            return self._quotes(request)
        return httpx.Response(404, json={"code": 1001, "message": "Invalid endpoint"})

    def _quotes(self, request: httpx.Request) -> httpx.Response:
        """Level 1 quotes in the documented shape for the known symbolIds asked for (unknown ids are left out)."""
        ids = [int(i) for i in request.url.params["ids"].split(",")]
        self.quote_requests.append(ids)
        known = {hit["symbolId"]: hit["symbol"] for hits in self.symbols.values() for hit in hits}
        quotes = [
            {
                "symbol": known[sid],
                "symbolId": sid,
                "tier": "",
                "bidPrice": 99.0 + sid / 1000,
                "bidSize": 100,
                "askPrice": 101.0 + sid / 1000,
                "askSize": 100,
                "lastTradePriceTrHrs": 100.0 + sid / 1000,
                "lastTradePrice": 100.0 + sid / 1000,
                "lastTradeSize": 10,
                "lastTradeTick": "Equal",
                "lastTradeTime": self.quote_time.astimezone(timezone(timedelta(hours=-4))).isoformat(),
                "volume": 12345,
                "openPrice": 99.5,
                "highPrice": 102.0,
                "lowPrice": 98.0,
                "delay": 0,
                "isHalted": False,
            }
            for sid in ids
            if sid in known
        ]
        return httpx.Response(200, json={"quotes": quotes})

    def _candles(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        start = datetime.fromisoformat(params["startTime"])
        end = datetime.fromisoformat(params["endTime"])
        step = DURATIONS[params["interval"]]
        self.candle_ranges.append((start, end))
        candles = []
        t = start
        while t < end or (self.inclusive_end and t == end):
            local = t.astimezone(start.tzinfo)
            if local.weekday() < 5 and (step >= timedelta(days=1) or 9 <= local.hour < 16):
                candles.append(
                    {
                        "start": t.isoformat(timespec="microseconds"),
                        "end": (t + step).isoformat(timespec="microseconds"),
                        "low": 9.5,
                        "high": 10.5,
                        "open": 10.0,
                        "close": 10.25,
                        "volume": 1000,
                        "VWAP": 10.1,
                    }
                )
            t += step
        assert len(candles) <= 2000, f"{len(candles)} candles in one request"
        return httpx.Response(200, json={"candles": candles})


def make_settings(tmp_path: Path, **overrides: Any) -> QuestradeSettings:
    """Settings with the bootstrap token and a token file under tmp_path."""
    values: dict[str, Any] = {
        "refresh_token": BOOTSTRAP,
        "token_file": tmp_path / "secrets" / "questrade-token.json",
        "max_attempts": 1,
    }
    values.update(overrides)
    return QuestradeSettings(**values)


def make_client(
    fake: FakeQuestrade, tmp_path: Path, now: datetime = NOW, **overrides: Any
) -> tuple[QuestradeClient, SimClock]:
    """A client over the fake on a SimClock."""
    clock = SimClock(now)
    return QuestradeClient(make_settings(tmp_path, **overrides), clock=clock, transport=fake.transport()), clock


def make_source(
    fake: FakeQuestrade, tmp_path: Path, now: datetime = NOW, **overrides: Any
) -> tuple[QuestradeSource, SimClock]:
    """A QuestradeSource over the fake on a SimClock."""
    client, clock = make_client(fake, tmp_path, now, **overrides)
    return QuestradeSource(client), clock


def stored_token(tmp_path: Path) -> str:
    """The refresh token on disk."""
    data = json.loads((tmp_path / "secrets" / "questrade-token.json").read_text())
    token: str = data["refresh_token"]
    return token
