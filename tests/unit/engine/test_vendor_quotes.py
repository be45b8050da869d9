"""The live quote feed's wiring: Questrade's batch quotes are a bulk source in the failover, not 200 requests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from papertrader.config.live import LiveSettings
from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock
from papertrader.data.adapters.questrade import QuestradeBulkQuotes
from papertrader.engine.orchestrator import vendor_quotes

NOW = datetime(2024, 6, 3, 20, tzinfo=UTC)


def test_questrade_serves_quotes_in_batches_after_alpha_vantage_and_yahoo_stays_per_symbol(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAPERTRADER_AV_KEY_PREMIUM", raising=False)
    monkeypatch.delenv("PAPERTRADER_AV_KEYS", raising=False)
    monkeypatch.setenv("PAPERTRADER_QUESTRADE_REFRESH_TOKEN", "BOOTSTRAP-rt-0000aaaa")
    monkeypatch.setenv("PAPERTRADER_QUESTRADE_TOKEN_FILE", str(tmp_path / "secrets" / "qt.json"))
    settings = Settings(
        home=tmp_path, live=LiveSettings(quotes_every_s=15, feed_sources=("yahoo", "questrade"), retrain_weekdays=())
    )
    symbols = [f"S{i:03d}" for i in range(200)]
    feed, _notes = vendor_quotes(settings, SimClock(NOW), symbols)
    assert feed is not None
    assert [type(b) for b in feed.bulks] == [QuestradeBulkQuotes]
    assert feed.requests_per_sweep() == 2, "200 symbols are 2 Questrade requests a sweep"
    assert feed.fallback is not None and list(feed.fallback.sources) == ["yahoo"]
