"""A live run over HTTP (production wiring: vendor_feed -> RouterFeed -> YahooSource -> httpx -> the loopback vendor)
trades exactly as the same run over the in-process RecordedFeed when no fault is injected."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_support import LIVE_FROM, at, orchestrator, prepared_home, repository, stripped_state

from papertrader.config.live import LiveSettings
from papertrader.config.settings import Settings, StrategySettings
from papertrader.core.clock import SimClock
from papertrader.data.loopback import LoopbackVendor
from papertrader.engine.feed import RecordedFeed, RouterFeed
from papertrader.engine.orchestrator import vendor_feed


def fast_settings(home: Path) -> Settings:
    """Short moving averages, so two hourly sessions trade (the comparison then covers orders and fills)."""
    live = LiveSettings(retrain_weekdays=(), feed_sources=("yahoo",))
    return Settings(home=home, strategy=StrategySettings(fast=3, slow=8), live=live)


def test_a_two_session_live_run_over_the_loopback_vendor_equals_the_run_over_recorded_bars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, bars = prepared_home(tmp_path / "recorded")
    recorded = orchestrator(fast_settings(home), RecordedFeed(bars), SimClock(at(LIVE_FROM, 6)), run_id="r", days=2)
    want = recorded.run()

    home_http, _ = prepared_home(tmp_path / "http")
    settings = fast_settings(home_http)
    clock = SimClock(at(LIVE_FROM, 6))
    with LoopbackVendor(bars, "1h", clock=clock) as vendor:
        for name, value in vendor.env().items():
            monkeypatch.setenv(name, value)
        feed, _backfill, _notes = vendor_feed(settings, clock)
        assert isinstance(feed, RouterFeed) and list(feed.router.sources) == ["yahoo"]
        got = orchestrator(settings, feed, clock, run_id="r", days=2).run()
        assert vendor.counts["yahoo"] >= 2 * got.cycles  # every close asked over HTTP (bars + daily reference)

    assert got.cycles == want.cycles > 10 and got.held_cycles == want.held_cycles == 0
    state = stripped_state(repository(settings), "r")
    assert state == stripped_state(repository(fast_settings(home)), "r")
    assert state["fills"], "the run trades, so the comparison covers orders and fills"
