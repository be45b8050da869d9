"""A live session tells a local webhook when its data source degrades, goes down and comes back.

Real hourly bars replayed by a scripted feed that withholds IBM for three hours (as in test_live_faults);
the webhook is an http.server on 127.0.0.1, port 0, reached through apprise's json:// target.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from live_support import LIVE_FROM, ScriptedFeed, at, live_settings, orchestrator, prepared_home

from papertrader.core.clock import SimClock
from papertrader.engine.feed import RecordedFeed
from webhook_support import local_webhook


def test_a_stale_data_source_is_notified_when_it_degrades_goes_down_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, bars = prepared_home(tmp_path)
    settings = live_settings(home, stale_after_bars=2)

    def script(now: datetime, feed: RecordedFeed) -> None:
        local_hour = now.astimezone(at(LIVE_FROM, 0).tzinfo).hour
        feed.drop = {"IBM"} if 11 <= local_hour < 14 else set()

    with local_webhook() as hook:
        monkeypatch.setenv("PAPERTRADER_NOTIFY_URLS", hook.url())
        monkeypatch.setenv("PAPERTRADER_NOTIFY_KINDS", "data,halt,reset")
        orch = orchestrator(settings, ScriptedFeed(RecordedFeed(bars), script), SimClock(at(LIVE_FROM, 6)))
        orch.run()
    data = [m.split(":")[0] for m in hook.messages() if m.startswith("data is")]
    assert data == ["data is degraded", "data is down", "data is ok"]
    assert all(m.startswith("data is") for m in hook.messages())  # fills were not asked for
