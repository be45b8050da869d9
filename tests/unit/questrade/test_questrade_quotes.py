"""Questrade quotes in batch: 200 symbols are 2 markets/quotes requests a sweep, not 200, and serve the failover.

The fake Questrade (httpx.MockTransport, questrade_fakes.py) answers markets/quotes in the documented shape; the
throttled bulk source ahead of it in the failover is a stand-in that raises what the Alpha Vantage client raises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from questrade_fakes import NOW, FakeQuestrade, make_source

from papertrader.core.errors import DataError, RateLimitedError
from papertrader.data.adapters.questrade import QUOTE_BATCH, QuestradeBulkQuotes, parse_quotes
from papertrader.data.polling import QuoteFeed

TICKERS = [f"S{i:03d}" for i in range(200)]


def _universe(tickers: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    return {t: [{"symbol": t, "symbolId": 1000 + i, "listingExchange": "NYSE"}] for i, t in enumerate(tickers)}


def _searches(fake: FakeQuestrade) -> int:
    return sum(1 for r in fake.api_requests if r.url.path == "/v1/symbols/search")


def test_200_symbols_are_two_quote_requests_a_sweep_each_price_on_its_own_symbol(tmp_path: Path) -> None:
    fake = FakeQuestrade(symbols=_universe(TICKERS), quote_time=NOW - timedelta(seconds=3))
    source, clock = make_source(fake, tmp_path)
    feed = QuoteFeed(TICKERS, bulk=QuestradeBulkQuotes(source), clock=clock)
    first = feed.sweep()
    assert _searches(fake) == 200, "each ticker's symbolId is looked up once"
    assert [len(ids) for ids in fake.quote_requests] == [QUOTE_BATCH, QUOTE_BATCH]
    second = feed.sweep()
    assert _searches(fake) == 200, "ids come from the cache afterwards"
    assert [len(ids) for ids in fake.quote_requests[2:]] == [QUOTE_BATCH, QUOTE_BATCH], "2 requests, not 200"
    for sweep in (first, second):
        assert not sweep.failures
        prices = dict(zip(sweep.quotes["symbol"], sweep.quotes["price"], strict=True))
        assert prices == {t: 100.0 + (1000 + i) / 1000 for i, t in enumerate(TICKERS)}
        assert (sweep.quotes["ts"] == pd.Timestamp(NOW - timedelta(seconds=3))).all()
        assert set(sweep.quotes["source"]) == {"questrade"} and not sweep.quotes["delayed"].any()


class Throttled:
    """A bulk source whose every request is throttled (what the Alpha Vantage client raises on a spent key)."""

    name = "alphavantage"
    batch_size = 100

    def __init__(self) -> None:
        self.asked: list[int] = []

    def fetch_quotes(self, symbols: Sequence[str]) -> tuple[pd.DataFrame, Mapping[str, str]]:
        self.asked.append(len(symbols))
        raise RateLimitedError("Alpha Vantage: premium key throttled", retry_after=60.0)


def test_a_throttled_bulk_source_fails_over_to_questrade_in_batches(tmp_path: Path) -> None:
    fake = FakeQuestrade(symbols=_universe(TICKERS))
    source, clock = make_source(fake, tmp_path)
    first = Throttled()
    feed = QuoteFeed(TICKERS, bulk=[first, QuestradeBulkQuotes(source)], clock=clock)
    sweep = feed.sweep()
    assert first.asked == [100, 100]
    assert len(fake.quote_requests) == 2, "the failover asks for 100 symbols a request"
    assert sorted(sweep.quotes["symbol"]) == TICKERS and not sweep.failures
    assert set(sweep.quotes["source"]) == {"questrade"}


def test_an_unknown_ticker_is_set_aside_and_the_rest_still_quoted(tmp_path: Path) -> None:
    fake = FakeQuestrade(symbols=_universe(["AAA", "BBB"]))
    source, clock = make_source(fake, tmp_path)
    sweep = QuoteFeed(["AAA", "NOPE", "BBB"], bulk=QuestradeBulkQuotes(source), clock=clock).sweep()
    assert sorted(sweep.quotes["symbol"]) == ["AAA", "BBB"]
    assert list(sweep.failures) == ["NOPE"] and "no symbol" in sweep.failures["NOPE"]
    assert fake.quote_requests == [[1000, 1001]]


def test_bad_quote_rows_are_quarantined_with_their_reason_and_the_rest_kept() -> None:
    wanted = {1: "AAA", 2: "BBB", 3: "CCC", 4: "DDD"}
    ok = {"lastTradeTime": "2024-06-03T15:59:58.120000-04:00", "volume": 10, "delay": 0}
    body = {
        "quotes": [
            {"symbolId": 1, "lastTradePrice": 10.5, **ok},
            {"symbolId": 2, "lastTradePrice": 0, **ok},
            {"symbolId": 3, "lastTradePrice": 11.0, "delay": 15},
            {"symbolId": 4, "lastTradePrice": 12.0, **{**ok, "delay": 15}},
            {"symbolId": 99, "lastTradePrice": 13.0, **ok},  # never asked for: not attributed to anyone
        ]
    }
    frame, bad = parse_quotes(body, wanted)
    assert list(frame["symbol"]) == ["AAA", "DDD"]
    assert list(frame["delayed"]) == [False, True]
    assert frame["ts"].iloc[0] == pd.Timestamp("2024-06-03 19:59:58.12", tz="UTC")
    assert set(bad) == {"BBB", "CCC"} and "lastTradePrice" in bad["BBB"] and "lastTradeTime" in bad["CCC"]
    with pytest.raises(DataError, match="quotes"):
        parse_quotes({"nope": []}, wanted)


def test_more_than_a_batch_in_one_request_is_refused(tmp_path: Path) -> None:
    source, _ = make_source(FakeQuestrade(), tmp_path)
    with pytest.raises(DataError, match="at most 100"):
        QuestradeBulkQuotes(source).fetch_quotes(TICKERS[:101])
