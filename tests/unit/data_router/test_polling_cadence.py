"""Polling cadence from key budgets, backfill time estimates, and the poller's sweeps on a SimClock."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from papertrader.core.clock import SimClock
from papertrader.core.errors import DataError
from papertrader.data.adapters.alphavantage.polling import (
    KeyBudget,
    achievable_cadence,
    hypothetical_budgets,
    time_for_requests,
)
from papertrader.data.polling import LatestBarQuotes, LivePoller
from papertrader.data.router import Router
from papertrader.data.store import Lake

T0 = datetime(2024, 3, 8, 15, tzinfo=UTC)  # 10:00 New York


def test_200_symbols_on_one_premium_key_sweep_every_160_seconds() -> None:
    cadence = achievable_cadence(200, hypothetical_budgets(premium=1))
    assert cadence.requests_per_sweep == 200 and cadence.sweep_seconds == pytest.approx(160.0)
    assert "2.7 min" in cadence.describe()


def test_free_keys_barely_move_a_premium_cadence_and_alone_take_days() -> None:
    mixed = achievable_cadence(200, hypothetical_budgets(premium=1, free=3))
    assert mixed.sweep_seconds == pytest.approx(200 / (75 / 60 + 75 / 86_400))
    free = achievable_cadence(200, hypothetical_budgets(premium=0, free=3))
    assert free.sweep_seconds == pytest.approx(200 / 75 * 86_400)
    assert "days" in free.describe()
    assert achievable_cadence(200, hypothetical_budgets(premium=0, free=3), premium_only=True).sweep_seconds is None


def test_batch_endpoints_divide_the_requests_per_sweep() -> None:
    cadence = achievable_cadence(200, hypothetical_budgets(premium=1), batch_size=100)
    assert cadence.requests_per_sweep == 2 and cadence.sweep_seconds == pytest.approx(1.6)


def test_backfill_time_uses_what_is_left_now_then_the_budget_rate() -> None:
    premium = [KeyBudget("PR…01", "premium", 75, 15)]
    assert time_for_requests(15, premium, T0) == 0.0
    assert time_for_requests(90, premium, T0) == pytest.approx(60.0)  # 75 more at 75/min
    free = [KeyBudget("FR…02", "free", 25, 5, 2.5), KeyBudget("FR…03", "free", 25, 0, 2.5)]
    assert time_for_requests(4, free, T0) == pytest.approx(4 * 2.5 / 2)
    midnight = 14 * 3600.0  # 10:00 to midnight New York
    assert time_for_requests(30, free, T0) == pytest.approx(midnight)  # 5 today, 25 tomorrow
    assert time_for_requests(60, free, T0) == pytest.approx(midnight + 86_400)
    assert time_for_requests(1, [], T0) is None


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
