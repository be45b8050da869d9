"""The live orchestrator's bar feed port and its two adapters: vendor sources through the router, and recorded bars.

A feed answers "which bars of these symbols have closed since `since`, as of `now`?". Whatever it
returns goes through data.quality before the engine sees it, and a bar that has not closed by `now`
is never returned (the recorded feed enforces it, so a replayed day cannot leak the future).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import pandas as pd

from papertrader.core.errors import PapertraderError
from papertrader.data.router import Routed, Router
from papertrader.data.schema import BAR_COLUMNS
from papertrader.domain.sessions import interval_minutes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedBatch:
    """Bars (long format, lake columns) that closed in (since, now], and per symbol why none came."""

    bars: pd.DataFrame
    failures: Mapping[str, str] = field(default_factory=dict)
    source: str = ""


class BarFeed(Protocol):
    """Where the live loop gets its new bars."""

    def fetch(self, symbols: Sequence[str], interval: str, since: datetime, now: datetime) -> FeedBatch:
        """Bars with ts >= since that have closed by now; failures are reported per symbol, never raised."""
        ...


def close_times(ts: pd.Series, interval: str) -> pd.Series:
    """When bars stamped `ts` (bar start, UTC) close: start + length intraday, 16:00 New York for daily bars."""
    if interval == "1d":
        day = ts.dt.tz_convert("America/New_York").dt.normalize()
        closes: pd.Series = (day + pd.Timedelta(hours=16)).dt.tz_convert("UTC")
        return closes
    return ts + pd.Timedelta(minutes=interval_minutes(interval))


def closed_by(bars: pd.DataFrame, interval: str, since: datetime, now: datetime) -> pd.DataFrame:
    """The rows stamped at or after `since` whose bar has closed by `now` (the no-look-ahead filter)."""
    if bars.empty:
        return bars
    ts = pd.to_datetime(bars["ts"], utc=True)
    keep = (ts >= pd.Timestamp(since)) & (close_times(ts, interval) <= pd.Timestamp(now))
    return bars.loc[keep.to_numpy()]


def empty_bars() -> pd.DataFrame:
    """A bar frame with the lake's columns and no rows."""
    return pd.DataFrame({c: pd.Series(dtype="datetime64[ns, UTC]" if c == "ts" else object) for c in BAR_COLUMNS})


class RecordedFeed:
    """Serves recorded real bars as if they arrived live: only those closed by the asking time.

    Used to rehearse a live day on history and in tests; `down`, `drop` and `corrupt` inject the
    faults a vendor produces (everything down, a symbol's bars missing, a bad print).
    """

    def __init__(self, bars: pd.DataFrame, name: str = "recorded") -> None:
        frame = bars.copy()
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        self.bars = frame.sort_values(["ts", "symbol"], kind="mergesort").reset_index(drop=True)
        self.name = name
        self.down: str | None = None
        self.drop: set[str] = set()
        self.corrupt: dict[tuple[str, pd.Timestamp], dict[str, float]] = {}
        self.asked: list[tuple[datetime, datetime]] = []

    def fetch(self, symbols: Sequence[str], interval: str, since: datetime, now: datetime) -> FeedBatch:
        """The recorded bars closed in [since, now], minus what the injected faults take away."""
        self.asked.append((since, now))
        if self.down is not None:
            return FeedBatch(empty_bars(), {s: self.down for s in symbols}, self.name)
        rows = self.bars[self.bars["symbol"].isin([s for s in symbols if s not in self.drop])]
        rows = closed_by(rows, interval, since, now).copy()
        for (symbol, ts), values in self.corrupt.items():
            hit = (rows["symbol"] == symbol) & (rows["ts"] == ts)
            for column, value in values.items():
                rows.loc[hit, column] = value
        failures = {s: "no data (dropped by the feed)" for s in symbols if s in self.drop}
        return FeedBatch(rows.reset_index(drop=True), failures, self.name)


class RouterFeed:
    """Live bars from the vendor sources through the router: failover and circuit breakers come with it.

    With `workers` > 1 that many symbols are asked at once (threads over the thread-safe router and clients), so
    the vendors' round trips overlap; the answer is assembled in symbol order, the same as one at a time.
    """

    def __init__(self, router: Router, workers: int = 1) -> None:
        self.router = router
        self.workers = max(1, workers)
        self._pool: ThreadPoolExecutor | None = None

    def _ask(self, symbol: str, interval: str, since: datetime, now: datetime) -> Routed[pd.DataFrame] | str:
        """One symbol's routed bars, or why no source served them."""
        try:
            return self.router.fetch_bars(symbol, interval, since, now)
        except PapertraderError as exc:
            return f"{type(exc).__name__}: {exc}"[:300]

    def fetch(self, symbols: Sequence[str], interval: str, since: datetime, now: datetime) -> FeedBatch:
        """Ask the router for each symbol's bars since `since`; a symbol no source serves is a failure."""
        frames: list[pd.DataFrame] = []
        failures: dict[str, str] = {}
        sources: list[str] = []
        if self.workers > 1 and len(symbols) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="live-feed")
            answers = list(self._pool.map(lambda s: self._ask(s, interval, since, now), symbols))
        else:
            answers = [self._ask(s, interval, since, now) for s in symbols]
        for symbol, routed in zip(symbols, answers, strict=True):
            if isinstance(routed, str):
                failures[symbol] = routed
                log.warning("live feed %s %s: %s", symbol, interval, failures[symbol])
                continue
            sources.append(routed.source)
            if not routed.value.empty:
                frames.append(closed_by(routed.value, interval, since, now))
        bars = pd.concat(frames, ignore_index=True) if frames else empty_bars()
        return FeedBatch(bars, failures, ",".join(dict.fromkeys(sources)))
