"""The daily reference behind intraday adjustment is fetched once per symbol and exchange day, bars unchanged.

Synthetic data (this unit test says so): a hand-made Yahoo world of 5-minute and daily bars for one symbol,
served honestly by period1/period2, with a dividend that goes ex on the last day and only appears in the
daily and intraday events once that session has started (events through now).
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pandas as pd
from yahoo_fakes import chart_body, utc

from papertrader.config.yahoo import YahooSettings
from papertrader.core.clock import SimClock
from papertrader.data.adapters.yahoo import YahooSource

DAYS = [utc(2024, 3, d, 14, 30) for d in (4, 5, 6, 7, 8)]  # regular-session opens (New York, EST)
EX_DAY = DAYS[-1]
DIVIDEND = {str(int(EX_DAY.timestamp())): {"amount": 0.5, "date": int(EX_DAY.timestamp())}}


def _serve(request: httpx.Request) -> httpx.Response:
    """Answer like Yahoo: the bars in [period1, period2) and the events among them."""
    p1, p2 = int(request.url.params["period1"]), int(request.url.params["period2"])
    daily = request.url.params["interval"] == "1d"
    if daily:
        stamps = [int(d.timestamp()) for d in DAYS]
    else:
        stamps = [int((d + timedelta(minutes=5 * i)).timestamp()) for d in DAYS for i in range(78)]
    ts = [t for t in stamps if p1 <= t < p2 and (daily or t + 300 <= p2)]
    base = [100.0 + (t % 86_400) / 3600 + (t // 86_400) % 7 for t in ts]
    quote = {
        "open": base,
        "high": [b + 1 for b in base],
        "low": [b - 1 for b in base],
        "close": [b + 0.25 for b in base],
        "volume": [1000.0] * len(ts),
    }
    ex = int(EX_DAY.timestamp())
    events = {"dividends": DIVIDEND} if p1 <= ex < p2 else None
    return httpx.Response(200, json=chart_body(ts, quote=quote, events=events))


def _source(clock: SimClock, log: list[httpx.Request]) -> YahooSource:
    def handler(request: httpx.Request) -> httpx.Response:
        log.append(request)
        return _serve(request)

    settings = YahooSettings(max_attempts=1, backoff_base_s=1.0)
    return YahooSource(settings=settings, clock=clock, transport=httpx.MockTransport(handler))


def test_repeated_intraday_fetches_equal_a_fresh_source_and_ask_for_daily_bars_once_per_day() -> None:
    clock = SimClock(DAYS[3] + timedelta(minutes=30))
    log: list[httpx.Request] = []
    cached = _source(clock, log)
    daily_per_day: dict[str, int] = {}
    fetches = 0
    while clock.now() < EX_DAY + timedelta(hours=2):
        now = clock.now()
        start = now - timedelta(days=2)
        fresh = _source(clock, []).fetch_chart("TEST", "5m", start, now)
        before = len(log)
        got = cached.fetch_chart("TEST", "5m", start, now)
        pd.testing.assert_frame_equal(got.bars, fresh.bars)
        pd.testing.assert_frame_equal(got.dividends, fresh.dividends)
        pd.testing.assert_frame_equal(got.splits, fresh.splits)
        day = pd.Timestamp(now).tz_convert("America/New_York").date().isoformat()
        daily = sum(1 for r in log[before:] if r.url.params["interval"] == "1d")
        daily_per_day[day] = daily_per_day.get(day, 0) + daily
        fetches += 1
        clock.advance_to(now + timedelta(minutes=5))
    assert fetches > 100
    assert all(n == 1 for n in daily_per_day.values()), daily_per_day
    assert (got.bars["adj_factor"] < 1.0).any()  # the dividend that went ex on the last day prices earlier bars


def test_the_reference_cache_is_bounded_per_symbol() -> None:
    from papertrader.data.adapters.yahoo import source as source_module

    clock = SimClock(DAYS[3] + timedelta(hours=3))
    src = _source(clock, [])
    for i in range(source_module.REFERENCE_CACHE_SIZE + 5):
        src.fetch_chart(f"S{i}", "5m", clock.now() - timedelta(hours=1), clock.now())
    assert len(src._references) == source_module.REFERENCE_CACHE_SIZE
