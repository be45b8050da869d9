"""The live bar feed's wiring: its vendors' circuit breakers cool down on the live setting, not the 60 s default."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from papertrader.config.live import LiveSettings
from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock
from papertrader.engine.feed import RouterFeed
from papertrader.engine.orchestrator import vendor_feed

NOW = datetime(2024, 6, 3, 20, tzinfo=UTC)


def test_a_failing_live_vendor_is_tried_again_after_the_live_cooldown_so_a_short_stall_costs_no_bar(
    tmp_path: Path,
) -> None:
    settings = Settings(
        home=tmp_path,
        live=LiveSettings(feed_sources=("yahoo",), breaker_cooldown_seconds=5, retrain_weekdays=()),
    )
    clock = SimClock(NOW)
    feed, _backfill, _notes = vendor_feed(settings, clock)
    assert isinstance(feed, RouterFeed)
    breaker = feed.router.breaker("yahoo")
    assert breaker.cooldown == timedelta(seconds=5)
    for _ in range(breaker.failure_threshold):
        breaker.failure()
    assert not breaker.allow(), "open right after the failures"
    clock.sleep(5)
    assert breaker.allow(), "half-open after the live cooldown: one trial request, within the bar's re-fetch window"
