"""Bulk quotes end to end: the budgeted client over httpx.MockTransport, 100 symbols a request, and failover.

The vendor bodies are hand-made in the documented REALTIME_BULK_QUOTES format; the per-symbol failover is the
project's `LatestBarQuotes` over a bar source (what Yahoo and Questrade offer), here a recorded-bars stand-in.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from av_fake import bodies, keyfixtures

from papertrader.core.clock import SimClock
from papertrader.data.adapters.alphavantage import AlphaVantageClient
from papertrader.data.adapters.alphavantage.keys import KeyManager
from papertrader.data.adapters.alphavantage.polling import AlphaVantageBulkQuotes
from papertrader.data.polling import LatestBarQuotes, QuoteFeed
from papertrader.data.router import Router

NOW = "2024-07-31 19:50"  # 15:50 New York


def _row(symbol: str, close: float) -> dict[str, str]:
    return {"symbol": symbol, "timestamp": "2024-07-31 15:49:58.000", "close": f"{close:.2f}", "volume": "100"}


class Vendor:
    """Answers REALTIME_BULK_QUOTES from a script: a body per call, or a good answer for what was asked."""

    def __init__(self, script: list[Any] | None = None) -> None:
        self.script = list(script or [])
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        symbols = request.url.params["symbol"].split(",")
        body = self.script.pop(0) if self.script else None
        if body is None:
            body = {"endpoint": "Realtime Bulk Quotes", "data": [_row(s, 100.0 + i) for i, s in enumerate(symbols)]}
        if callable(body):
            body = body(symbols)
        return httpx.Response(200, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


class BarsSource:
    """A bar source (the shape Yahoo and Questrade have) serving one recent 1-minute bar per symbol."""

    name = "yahoo"

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.asked: list[str] = []

    def fetch_bars(self, symbol: str, interval: str, start: datetime, end: datetime) -> pd.DataFrame:
        self.asked.append(symbol)
        ts = pd.Timestamp(self.clock.now()) - pd.Timedelta(minutes=2)
        return pd.DataFrame(
            {
                "symbol": [symbol],
                "ts": [ts],
                "open": [50.0],
                "high": [51.0],
                "low": [49.0],
                "close": [50.5],
                "volume": [10.0],
            }
        )


def _rig(tmp_path: Path, vendor: Vendor) -> tuple[SimClock, AlphaVantageClient]:
    settings = keyfixtures.av_settings(max_retries=0)
    clock = keyfixtures.sim_clock(NOW)
    sleep = keyfixtures.SimSleep(clock)
    keys = KeyManager(
        keyfixtures.standard_keys(settings),
        keyfixtures.db_engine(tmp_path),
        clock=clock,
        settings=settings,
        jitter=lambda: 0.5,
        sleep=sleep,
    )
    transport = httpx.MockTransport(vendor.handler)
    return clock, AlphaVantageClient(keys, settings, clock=clock, transport=transport, sleep=sleep)


def test_200_symbols_take_two_bulk_requests_on_the_premium_key(tmp_path: Path) -> None:
    vendor = Vendor()
    clock, client = _rig(tmp_path, vendor)
    symbols = [f"S{i:03d}" for i in range(200)]
    feed = QuoteFeed(symbols, bulk=AlphaVantageBulkQuotes(client, clock=clock), clock=clock)
    sweep = feed.sweep()
    assert len(vendor.requests) == 2 == feed.requests_per_sweep()
    params = vendor.requests[0].url.params
    assert params["function"] == "REALTIME_BULK_QUOTES" and params["apikey"] == keyfixtures.PREMIUM_SECRET
    assert len(params["symbol"].split(",")) == 100
    assert len(sweep.quotes) == 200 and not sweep.failures
    assert set(sweep.quotes["source"]) == {"alphavantage-bulk"}
    assert (sweep.quotes["ts"] <= pd.Timestamp(clock.now())).all()


def test_a_throttled_bulk_request_fails_over_to_per_symbol_quotes_and_the_sweep_goes_on(tmp_path: Path) -> None:
    vendor = Vendor([bodies.MINUTE_CAP])
    clock, client = _rig(tmp_path, vendor)
    bars = BarsSource(clock)
    fallback = Router([LatestBarQuotes(bars, clock=clock, lookback=timedelta(hours=1))], clock=clock)
    feed = QuoteFeed(["AAPL", "MSFT"], bulk=AlphaVantageBulkQuotes(client, clock=clock), fallback=fallback, clock=clock)
    sweep = feed.sweep()
    assert bars.asked == ["AAPL", "MSFT"], "the throttled chunk went to the failover source"
    assert list(sweep.quotes["source"]) == ["yahoo", "yahoo"] and list(sweep.quotes["price"]) == [50.5, 50.5]
    assert not sweep.failures, "what the failover served is not a failure"
    again = feed.sweep()  # the next sweep asks the bulk endpoint again
    assert set(again.quotes["source"]) == {"alphavantage-bulk"}


def test_malformed_rows_are_quarantined_and_served_by_the_failover(tmp_path: Path) -> None:
    def half_bad(symbols: list[str]) -> dict[str, Any]:
        return {"data": [_row(symbols[0], 10.0), {**_row(symbols[1], 1.0), "close": "garbage"}]}

    vendor = Vendor([half_bad])
    clock, client = _rig(tmp_path, vendor)
    bars = BarsSource(clock)
    fallback = Router([LatestBarQuotes(bars, clock=clock, lookback=timedelta(hours=1))], clock=clock)
    feed = QuoteFeed(["AAPL", "MSFT"], bulk=AlphaVantageBulkQuotes(client, clock=clock), fallback=fallback, clock=clock)
    sweep = feed.sweep()
    assert bars.asked == ["MSFT"]
    got = dict(zip(sweep.quotes["symbol"], sweep.quotes["source"], strict=True))
    assert got == {"AAPL": "alphavantage-bulk", "MSFT": "yahoo"}


def test_without_a_failover_a_failed_bulk_request_is_reported_not_raised(tmp_path: Path) -> None:
    vendor = Vendor([{"endpoint": "Realtime Bulk Quotes", "message": "premium entitlement required"}])
    clock, client = _rig(tmp_path, vendor)
    feed = QuoteFeed(["AAPL", "MSFT"], bulk=AlphaVantageBulkQuotes(client, clock=clock), clock=clock)
    sweep = feed.sweep()
    assert sweep.quotes.empty
    assert set(sweep.failures) == {"AAPL", "MSFT"} and "premium" in sweep.failures["AAPL"]
