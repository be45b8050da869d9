"""The router classifies each source's error: temporary fails over and trips, data moves on, config disables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from papertrader.core.clock import SimClock
from papertrader.core.errors import (
    AuthError,
    ConfigError,
    DataError,
    QuotaExhaustedError,
    RateLimitedError,
    TemporaryError,
)
from papertrader.data.router import (
    DEFAULT_ORDER,
    BreakerState,
    DataKind,
    Outcome,
    Router,
    SourcesExhaustedError,
    bars_kind,
    parse_routes,
)

T0 = datetime(2024, 3, 8, 15, tzinfo=UTC)
START, END = datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 5, tzinfo=UTC)


def bars(symbol: str = "AAPL", n: int = 2) -> pd.DataFrame:
    ts = pd.date_range("2024-01-02 05:00", periods=n, freq="D", tz="UTC")
    return pd.DataFrame(
        {"symbol": symbol, "ts": ts, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 10.0}
    )


class Scripted:
    """A bar source answering from a script: each call pops an exception to raise or a frame to return."""

    def __init__(self, name: str, *replies: Any, default: Any = None) -> None:
        self.name = name
        self.replies = list(replies)
        self.default = bars() if default is None else default
        self.calls = 0

    def fetch_bars(self, symbol: str, interval: str, start: datetime, end: datetime) -> pd.DataFrame:
        self.calls += 1
        reply = self.replies.pop(0) if self.replies else self.default
        if isinstance(reply, BaseException):
            raise reply
        assert isinstance(reply, pd.DataFrame)
        return reply


def router(*sources: Scripted, threshold: int = 2) -> tuple[Router, SimClock]:
    clock = SimClock(T0)
    return Router(list(sources), clock=clock, failure_threshold=threshold, cooldown=timedelta(minutes=1)), clock


@pytest.mark.parametrize(
    "error",
    [
        TemporaryError("HTTP 503"),
        RateLimitedError("429", retry_after=5),
        QuotaExhaustedError("daily cap"),
    ],
)
def test_temporary_errors_fail_over_and_count_toward_the_breaker(error: Exception) -> None:
    av, yahoo = Scripted("alphavantage", error, error), Scripted("yahoo")
    r, _ = router(av, yahoo, threshold=2)
    first = r.fetch_bars("AAPL", "1d", START, END)
    assert first.source == "yahoo" and first.failed_over
    assert [(a.source, a.outcome) for a in first.attempts] == [("alphavantage", Outcome.FAILED), ("yahoo", Outcome.OK)]
    r.fetch_bars("AAPL", "1d", START, END)
    assert r.breaker("alphavantage").state is BreakerState.OPEN
    r.fetch_bars("AAPL", "1d", START, END)
    assert av.calls == 2  # the open breaker kept the third call away


def test_a_bad_symbol_moves_on_without_tripping_the_breaker() -> None:
    av = Scripted("alphavantage", *[DataError("Invalid API call")] * 5)
    r, _ = router(av, Scripted("yahoo"), threshold=2)
    for _ in range(5):
        assert r.fetch_bars("ZZZZ", "1d", START, END).source == "yahoo"
    assert av.calls == 5 and r.breaker("alphavantage").state is BreakerState.CLOSED


@pytest.mark.parametrize("error", [AuthError("key refused"), ConfigError("premium endpoint")])
def test_auth_and_config_errors_skip_the_source_for_that_kind_and_report_it(error: Exception) -> None:
    av, yahoo = Scripted("alphavantage", error), Scripted("yahoo")
    r, _ = router(av, yahoo)
    r.fetch_bars("AAPL", "5m", START, END)
    second = r.fetch_bars("AAPL", "5m", START, END)
    assert av.calls == 1  # never asked again for intraday
    assert second.attempts[0].outcome is Outcome.DISABLED
    assert "bars_intraday" in r.health()[0].disabled
    assert r.fetch_bars("AAPL", "1d", START, END).source == "alphavantage"  # daily bars still go to it
    r.enable("alphavantage")
    assert r.fetch_bars("AAPL", "5m", START, END).source == "alphavantage"


def test_an_empty_answer_tries_the_next_source_and_the_first_empty_is_returned_when_none_has_data() -> None:
    empty = bars().iloc[:0]
    r, _ = router(Scripted("alphavantage", empty), Scripted("yahoo", default=bars("AAPL", 3)))
    assert len(r.fetch_bars("AAPL", "1d", START, END).value) == 3
    r2, _ = router(Scripted("alphavantage", default=empty), Scripted("yahoo", default=empty))
    got = r2.fetch_bars("AAPL", "1d", START, END)
    assert got.value.empty and got.source == "alphavantage"
    assert [a.outcome for a in got.attempts] == [Outcome.EMPTY, Outcome.EMPTY]


def test_the_answer_carries_its_source_and_when_it_was_fetched() -> None:
    r, clock = router(Scripted("alphavantage"))
    clock.advance_to(T0 + timedelta(seconds=42))
    got = r.fetch_bars("AAPL", "1d", START, END)
    assert got.source == "alphavantage" and got.fetched_at == T0 + timedelta(seconds=42) and not got.failed_over


def test_when_every_source_fails_the_error_says_whether_to_retry_fix_input_or_fix_config() -> None:
    temp, _ = router(Scripted("alphavantage", DataError("bad")), Scripted("yahoo", TemporaryError("503")))
    with pytest.raises(SourcesExhaustedError) as exc:
        temp.fetch_bars("AAPL", "1d", START, END)
    assert [a.outcome for a in exc.value.attempts] == [Outcome.REJECTED, Outcome.FAILED]
    data, _ = router(Scripted("alphavantage", DataError("bad")), Scripted("yahoo", DataError("404")))
    with pytest.raises(DataError, match="check the symbol"):
        data.fetch_bars("NOPE", "1d", START, END)
    config, _ = router(Scripted("alphavantage", AuthError("key")))
    with pytest.raises(ConfigError, match="configure a source"):
        config.fetch_bars("AAPL", "1d", START, END)


def test_a_source_without_the_kinds_method_is_skipped_as_unsupported() -> None:
    r, _ = router(Scripted("yahoo"))
    with pytest.raises(ConfigError) as exc:
        r.fetch_series("CPI")
    assert "yahoo unsupported" in str(exc.value)


def test_an_open_breaker_lets_one_trial_through_after_the_cooldown() -> None:
    av = Scripted("alphavantage", TemporaryError("x"), TemporaryError("x"))
    r, clock = router(av, Scripted("yahoo"), threshold=2)
    r.fetch_bars("AAPL", "1d", START, END)
    r.fetch_bars("AAPL", "1d", START, END)
    clock.advance_to(T0 + timedelta(minutes=2))
    assert r.fetch_bars("AAPL", "1d", START, END).source == "alphavantage"  # the trial succeeded
    assert r.breaker("alphavantage").state is BreakerState.CLOSED


def test_a_quota_with_a_reset_time_keeps_the_source_out_until_then() -> None:
    class QuotaError(QuotaExhaustedError):
        available_at = T0 + timedelta(hours=3)

    av = Scripted("alphavantage", QuotaError("all keys spent"))
    r, clock = router(av, Scripted("yahoo"), threshold=5)
    r.fetch_bars("AAPL", "1d", START, END)
    clock.advance_to(T0 + timedelta(hours=2))
    r.fetch_bars("AAPL", "1d", START, END)
    assert av.calls == 1
    clock.advance_to(T0 + timedelta(hours=3))
    assert r.fetch_bars("AAPL", "1d", START, END).source == "alphavantage"


def test_routes_are_ordered_per_kind_and_configurable() -> None:
    r, _ = router(Scripted("alphavantage"), Scripted("yahoo"), Scripted("questrade"))
    assert r.route(DataKind.BARS_DAILY) == DEFAULT_ORDER
    routes = parse_routes("bars_daily=yahoo,questrade; quote=alphavantage")
    assert routes[DataKind.BARS_DAILY] == ("yahoo", "questrade") and routes[DataKind.NEWS] == DEFAULT_ORDER
    custom = Router([Scripted("alphavantage"), Scripted("yahoo")], routes=routes, clock=SimClock(T0))
    assert custom.fetch_bars("AAPL", "1d", START, END).source == "yahoo"
    assert bars_kind("60min") is DataKind.BARS_INTRADAY and bars_kind("daily") is DataKind.BARS_DAILY
    for bad in ("bars=yahoo", "quote", "news="):
        with pytest.raises(ConfigError):
            parse_routes(bad)
