"""The poller's sweeps on a SimClock (the key budgets' cadence: tests/unit/alphavantage/test_av_polling_budgets.py)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from papertrader.core.clock import SimClock
from papertrader.core.errors import DataError
from papertrader.data.adapters.alphavantage.polling import (
    KeyBudget,
    achievable_cadence,
    hypothetical_budgets,
)
from papertrader.data.polling import LatestBarQuotes, LivePoller
from papertrader.data.router import Router
from papertrader.data.store import Lake

T0 = datetime(2024, 3, 8, 15, tzinfo=UTC)  # 10:00 New York


class Minutes:
    """A bar source with one-minute bars up to the clock (for LatestBarQuotes and bar mode)."""

    name = "minutes"

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.calls = 0

    def fetch_bars(self, symbol: str, interval: str, start: datetime, end: datetime) -> pd.DataFrame:
        self.calls += 1
        if symbol == "BAD":
            raise DataError("unknown symbol")
        ts = pd.date_range(
            end=pd.Timestamp(self.clock.now()).floor("min") - pd.Timedelta(minutes=1), periods=3, freq="min"
        )
        return pd.DataFrame(
            {
                "symbol": symbol,
                "ts": ts,
                "open": 10.0,
                "high": 11.0,
                "low": 9.0,
                "close": [10.0, 10.5, 10.2],
                "volume": 5.0,
            }
        )


def test_a_sweep_returns_the_freshest_quote_per_symbol_with_provenance_and_collects_failures() -> None:
    clock = SimClock(T0)
    router = Router([LatestBarQuotes(Minutes(clock), clock=clock)], clock=clock)
    cadence = achievable_cadence(3, hypothetical_budgets(premium=1))
    sweep = LivePoller(router, ["AAPL", "MSFT", "BAD"], cadence, clock=clock).sweep()
    assert list(sweep.quotes["symbol"]) == ["AAPL", "MSFT"]
    assert list(sweep.quotes["price"]) == [10.2, 10.2]
    assert set(sweep.quotes["source"]) == {"minutes"} and (sweep.quotes["ts"] == pd.Timestamp(T0)).all()
    assert list(sweep.failures) == ["BAD"]


def test_sweeps_are_spaced_by_the_achievable_cadence(tmp_path: Path) -> None:
    clock = SimClock(T0)
    source = Minutes(clock)
    lake = Lake(tmp_path / "lake", clock=clock)
    cadence = achievable_cadence(2, [KeyBudget("PR…01", "premium", 1, 1)])  # 1/min: a sweep every 2 min
    poller = LivePoller(Router([source], clock=clock), ["AAPL", "MSFT"], cadence, clock=clock, mode="bar", lake=lake)
    starts = [s.started_at for s in poller.run(sweeps=3)]
    assert [b - a for a, b in itertools.pairwise(starts)] == [timedelta(minutes=2)] * 2
    stored = lake.read_partition("AAPL", "1m")
    assert set(stored["source"]) == {"minutes"} and stored["fetched_at"].notna().all()
