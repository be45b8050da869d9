"""Questrade calls: recorded bodies parse, 401 refreshes once, 429 waits on the clock, errors are classified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from questrade_fakes import FakeQuestrade, make_client

from papertrader.core.errors import AuthError, DataError, RateLimitedError, TemporaryError

INVALID = {"code": 1017, "message": "Access token is invalid"}


def answer(status: int, body: object = None, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """A scripted API answer."""
    return lambda request: httpx.Response(status, json=body, headers=headers)


def test_recorded_time_parses_to_aware_utc(tmp_path: Path) -> None:
    client, _ = make_client(FakeQuestrade(), tmp_path)
    assert client.time() == datetime(2026, 3, 3, 21, 48, 34, 140000, tzinfo=UTC)


def test_recorded_markets_parse_with_session_times(tmp_path: Path) -> None:
    client, _ = make_client(FakeQuestrade(), tmp_path)
    markets = {m.name: m for m in client.markets()}
    assert {"TSX", "TSXV", "NYSE", "NASDAQ", "ARCA", "CNSX", "NEO"} <= set(markets)
    tsx = markets["TSX"]
    assert tsx.start == datetime(2026, 3, 3, 14, 30, tzinfo=UTC)
    assert tsx.extended_end == datetime(2026, 3, 4, 1, 0, tzinfo=UTC)
    assert "ALPH" in tsx.trading_venues and tsx.default_trading_venue == "AUTO"


def test_recorded_accounts_parse(tmp_path: Path) -> None:
    client, _ = make_client(FakeQuestrade(), tmp_path)
    accounts = client.accounts()
    assert [(a.type, a.number, a.is_primary) for a in accounts] == [
        ("Margin", "12345678", False),
        ("TFSA", "23456789", True),
        ("RRSP", "34567890", False),
    ]


def test_api_calls_go_to_the_api_server_from_the_token_response(tmp_path: Path) -> None:
    fake = FakeQuestrade()
    client, _ = make_client(fake, tmp_path)
    client.time()
    assert str(fake.api_requests[0].url) == "https://api07.iq.questrade.com/v1/time"


def test_401_refreshes_once_and_retries_once(tmp_path: Path) -> None:
    fake = FakeQuestrade(scripted=[answer(401, INVALID)])
    client, _ = make_client(fake, tmp_path)
    assert client.time().year == 2026
    assert fake.issued == 2  # bootstrap + one refresh
    assert len(fake.api_requests) == 2


def test_a_second_401_is_an_auth_error_not_a_loop(tmp_path: Path) -> None:
    fake = FakeQuestrade(scripted=[answer(401, INVALID), answer(401, INVALID), answer(401, INVALID)])
    client, _ = make_client(fake, tmp_path, max_attempts=5)
    with pytest.raises(AuthError, match="refused after a refresh"):
        client.time()
    assert fake.issued == 2 and len(fake.api_requests) == 2


def test_429_with_a_far_reset_is_rate_limited_with_the_wait_from_the_clock(tmp_path: Path) -> None:
    now = datetime(2024, 6, 3, 20, tzinfo=UTC)
    reset = int((now + timedelta(seconds=300)).timestamp())
    fake = FakeQuestrade(
        scripted=[answer(429, {"code": 1006, "message": "Rate limit exceeded"}, {"X-RateLimit-Reset": str(reset)})]
    )
    client, _ = make_client(fake, tmp_path, now=now, max_attempts=3)
    with pytest.raises(RateLimitedError) as caught:
        client.time()
    assert caught.value.retry_after == 300.0
    assert len(fake.api_requests) == 1


def test_429_with_a_near_reset_sleeps_on_the_clock_then_succeeds(tmp_path: Path) -> None:
    now = datetime(2024, 6, 3, 20, tzinfo=UTC)
    reset = int((now + timedelta(seconds=2)).timestamp())
    fake = FakeQuestrade(scripted=[answer(429, {"code": 1006, "message": "slow"}, {"X-RateLimit-Reset": str(reset)})])
    client, clock = make_client(fake, tmp_path, now=now, max_attempts=3)
    assert client.time().year == 2026
    assert clock.now() - now == timedelta(seconds=2)


def test_an_exhausted_budget_header_makes_the_next_call_wait_for_the_reset(tmp_path: Path) -> None:
    now = datetime(2024, 6, 3, 20, tzinfo=UTC)
    reset = int((now + timedelta(seconds=10)).timestamp())
    exhausted = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
    fake = FakeQuestrade(scripted=[answer(200, {"time": "2024-06-03T16:00:00.000000-04:00"}, exhausted)])
    client, clock = make_client(fake, tmp_path, now=now)
    client.time()
    assert clock.now() == now
    client.time()
    assert clock.now() - now == timedelta(seconds=10)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_temporary_after_the_configured_attempts(tmp_path: Path, status: int) -> None:
    fake = FakeQuestrade(scripted=[answer(status, {"code": 1000, "message": "oops"})] * 3)
    client, clock = make_client(fake, tmp_path, max_attempts=3)
    with pytest.raises(TemporaryError, match=str(status)):
        client.time()
    assert len(fake.api_requests) == 3
    assert clock.now() > datetime(2024, 6, 3, 20, tzinfo=UTC)  # backed off on the clock


def test_timeouts_and_network_errors_are_temporary(tmp_path: Path) -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    fake = FakeQuestrade(scripted=[boom])
    client, _ = make_client(fake, tmp_path)
    with pytest.raises(TemporaryError, match="timed out"):
        client.time()


def test_unknown_symbol_1019_is_a_data_error(tmp_path: Path) -> None:
    fake = FakeQuestrade(scripted=[answer(404, {"code": 1019, "message": "Symbol not found"})])
    client, _ = make_client(fake, tmp_path)
    with pytest.raises(DataError, match="unknown symbol"):
        client.search_symbols("NOPE")


def test_bad_argument_400_is_a_data_error(tmp_path: Path) -> None:
    fake = FakeQuestrade(scripted=[answer(400, {"code": 1003, "message": "Argument length exceeds imposed limit"})])
    client, _ = make_client(fake, tmp_path)
    with pytest.raises(DataError, match="1003"):
        client.time()


def test_forbidden_403_is_an_auth_error(tmp_path: Path) -> None:
    fake = FakeQuestrade(scripted=[answer(403, {"code": 1016, "message": "Forbidden"})])
    client, _ = make_client(fake, tmp_path)
    with pytest.raises(AuthError, match="permission"):
        client.markets()


def test_truncated_json_is_temporary(tmp_path: Path) -> None:
    fake = FakeQuestrade(scripted=[lambda request: httpx.Response(200, content=b'{"time": "2026-03-0')])
    client, _ = make_client(fake, tmp_path)
    with pytest.raises(TemporaryError, match="truncated"):
        client.time()


def test_login_server_error_is_temporary_and_leaves_the_token_usable(tmp_path: Path) -> None:
    fake = FakeQuestrade()
    real = fake._login
    calls = {"n": 0}

    def flaky_login(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(503) if calls["n"] == 1 else real(request)

    fake._login = flaky_login  # type: ignore[method-assign]
    client, _ = make_client(fake, tmp_path)
    with pytest.raises(TemporaryError, match="login server error 503"):
        client.time()
    assert client.time().year == 2026
