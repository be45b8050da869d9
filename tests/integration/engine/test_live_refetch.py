"""In-bar re-fetch: a bar close whose feed request failed (timeout, 5xx, 429) asks again for the missing symbols.

Bars that come on a re-request within the bar's re-fetch window make the close's cycle run on time, up in the live
score, and equal to a replay; a feed that stays down past the window leaves the close held and down, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from live_support import LIVE_FROM, SYMBOLS, at, live_settings, orchestrator, prepared_home, repository, stripped_state

from papertrader.core.clock import SimClock
from papertrader.domain.sessions import NEW_YORK
from papertrader.engine.cycle import CycleOutcome
from papertrader.engine.feed import FeedBatch, RecordedFeed
from papertrader.engine.live_score import SCORE_KINDS, down_closes, scheduled_closes
from papertrader.engine.runner import RunRequest, run
from papertrader.engine.schedule import on_time_window, refetch_window

#: the faulted bar closes (New York hours) of the live day
FAULTED = (11, 13)


class FlakyFeed:
    """A recorded feed that fails the first `fail_first` requests after each faulted hourly close for `symbols`
    (None: every symbol), then answers; `fail_first=None` keeps failing for the whole hour (a long outage)."""

    def __init__(
        self, inner: RecordedFeed, fail_first: int | None, symbols: set[str] | None, why: str = "read timed out"
    ) -> None:
        self.inner = inner
        self.fail_first = fail_first
        self.symbols = symbols
        self.why = why
        self.requests: dict[datetime, list[tuple[datetime, tuple[str, ...]]]] = {}

    def fetch(self, symbols: Sequence[str], interval: str, since: datetime, now: datetime) -> Any:
        """The recorded answer, less the faulted symbols while this close's fault lasts."""
        close = now.astimezone(NEW_YORK).replace(minute=0, second=0, microsecond=0)
        asked = self.requests.setdefault(close, [])
        asked.append((now, tuple(symbols)))
        batch = self.inner.fetch(symbols, interval, since, now)
        faulted = close.hour in FAULTED and (self.fail_first is None or len(asked) <= self.fail_first)
        if not faulted:
            return batch
        cut = {s: self.why for s in symbols if self.symbols is None or s in self.symbols}
        rows = batch.bars[~batch.bars["symbol"].isin(list(cut))].reset_index(drop=True)
        return FeedBatch(rows, {**batch.failures, **cut}, batch.source)


def _live_day(tmp_path: Path, feed_of: Any, **live: Any) -> tuple[Any, Any, list[tuple[datetime, datetime]], Any]:
    """One live day (1h bars) on a flaky feed: the settings, the result, (cycle close, clock at cycle), the feed."""
    home, bars = prepared_home(tmp_path)
    settings = live_settings(home, **live)
    clock = SimClock(at(LIVE_FROM, 6))
    feed = feed_of(RecordedFeed(bars))
    ran: list[tuple[datetime, datetime]] = []

    def on_cycle(outcome: CycleOutcome) -> None:
        ran.append((outcome.ts, clock.now()))

    result = orchestrator(settings, feed, clock, run_id="live", on_cycle=on_cycle).run()
    return settings, result, ran, feed


def _replay_equals_live(settings: Any) -> None:
    start = datetime(LIVE_FROM.year, LIVE_FROM.month, LIVE_FROM.day, tzinfo=NEW_YORK)
    run(settings, RunRequest(SYMBOLS, "1h", start, start + timedelta(days=1), mode="replay", run_id="replay"))
    repo = repository(settings)
    assert stripped_state(repo, "live") == stripped_state(repo, "replay")


def _data_health(settings: Any) -> list[str]:
    events = repository(settings).load_events("live", ["health"])
    return [str(e.payload["status"]) for e in events if e.payload.get("component") == "data"]


@pytest.mark.parametrize(
    ("fail_first", "symbols", "why"),
    [
        (1, None, "TemporaryError: read timed out"),  # every vendor timed out once
        (2, {"IBM"}, "HTTP 429: throttled"),  # one symbol throttled twice
        (1, {"AAPL", "SPY"}, "HTTP 503: service unavailable"),  # a 5xx for some
    ],
)
def test_bars_that_come_on_a_re_request_within_the_bar_are_traded_on_time_up_and_equal_a_replay(
    tmp_path: Path, fail_first: int, symbols: set[str] | None, why: str
) -> None:
    settings, result, ran, feed = _live_day(tmp_path, lambda inner: FlakyFeed(inner, fail_first, symbols, why))

    # every close of the day ran its own cycle, none held, each before its on-time limit
    closes = [at(LIVE_FROM, h).astimezone(UTC) for h in range(10, 17)]
    assert [ts for ts, _ in ran] == closes and result.held_cycles == 0
    due = timedelta(seconds=settings.live.fetch_delay_seconds)
    limit = due + on_time_window(settings.live, "1h")
    assert all(now <= ts + limit for ts, now in ran)
    # the faulted closes were asked again, only for what was missing, on the clock's backoff within the window
    for hour in FAULTED:
        close = at(LIVE_FROM, hour)
        asked = feed.requests[close]
        assert len(asked) == fail_first + 1
        assert asked[0][0] == close + due
        assert [now - asked[0][0] for now, _ in asked[1:]] == [timedelta(seconds=2), timedelta(seconds=6)][:fail_first]
        assert all(now <= close + due + refetch_window(settings.live, "1h") for now, _ in asked)
        assert all(set(who) == (symbols or set(SYMBOLS)) for _, who in asked[1:])
    assert result.live_score is not None
    assert result.live_score["uptime"] == 1.0 and result.live_score["critical_failures"] == []
    assert "down" not in _data_health(settings) and "degraded" not in _data_health(settings)
    _replay_equals_live(settings)


def test_a_feed_down_past_the_re_fetch_window_holds_the_close_and_scores_it_down_as_before(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="papertrader.engine.orchestrator"):
        settings, result, ran, feed = _live_day(tmp_path, lambda inner: FlakyFeed(inner, None, None))

    due = timedelta(seconds=settings.live.fetch_delay_seconds)
    window = refetch_window(settings.live, "1h")
    for hour in FAULTED:
        close = at(LIVE_FROM, hour)
        asked = [now for now, _ in feed.requests[close]]
        # three retries after 2, 4 and 8 s: the last starts 14 s after the due time, inside the 20 s window
        assert [now - close - due for now in asked] == [timedelta(seconds=s) for s in (0, 2, 6, 14)]
        assert asked[-1] <= close + due + window
    retries = [r.getMessage() for r in caplog.records if "re-fetching" in r.getMessage()]
    assert len(retries) == 3 * len(FAULTED) and "attempt 1/3" in retries[0] and "read timed out" in retries[0]

    # as without re-fetching: the closes with no bars ran nothing then, and were stepped held at the next close
    assert result.held_cycles == len(FAULTED)
    assert [ts for ts, _ in ran] == [at(LIVE_FROM, h).astimezone(UTC) for h in range(10, 17)]
    assert "down" in _data_health(settings)
    repo = repository(settings)
    cycles = [ts.to_pydatetime() for ts in repo.load_equity("live")["ts"]]
    closes = scheduled_closes(settings.live, "1h", cycles[0], at(LIVE_FROM, 17).astimezone(UTC))
    down = down_closes(closes, cycles, repo.load_events("live", SCORE_KINDS))
    assert [ts for ts, _ in down] == [at(LIVE_FROM, h).astimezone(UTC) for h in FAULTED]
    assert all(why.startswith("down: data") and "read timed out" in why for _, why in down)
    assert result.live_score is not None and result.live_score["up"] == len(closes) - len(FAULTED)


def test_re_fetching_off_asks_once_per_close_as_before(tmp_path: Path) -> None:
    _settings, result, _ran, feed = _live_day(tmp_path, lambda inner: FlakyFeed(inner, 1, None), refetch_attempts=0)
    assert all(len(feed.requests[at(LIVE_FROM, h)]) == 1 for h in FAULTED)
    assert result.held_cycles == len(FAULTED)
    assert result.live_score is not None and result.live_score["up"] == result.live_score["scheduled"] - 2
