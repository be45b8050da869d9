"""Live polling for paper trading: the freshest quote or bar per symbol, one sweep at a time, at a set cadence.

A sweep needs ``ceil(symbols / batch_size)`` requests; how often one can run is the source's budget's business:
``fixed_rate_cadence`` for a source metered by a fixed request rate (Questrade's 20/s, a polite Yahoo pace),
``data.adapters.alphavantage.polling.achievable_cadence`` for Alpha Vantage's key budgets. Any source with
``fetch_quote`` (``QuoteSource``) or ``fetch_bars`` serves a sweep through the router: ``LatestBarQuotes``
turns a bar source's freshest bar into a quote; ``AlphaVantageQuotes`` (in the Alpha Vantage adapter) reads
GLOBAL_QUOTE.

The poller itself is paced by the sources (a budgeted client waits for its slots), then sleeps on the injected
clock until the next sweep is due. Every quote carries its provenance (``source``, ``fetched_at``); in bar mode
the fresh bars can be written to the lake with it, on the lake's append path: only the closed bars newer than what
the partition holds, as a small delta file, so a poll costs the same however long the stored history is.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal, Protocol

import pandas as pd

from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import ConfigError, PapertraderError
from papertrader.data.router import Router
from papertrader.data.schema import UTC_NS, normalize_interval
from papertrader.data.store import BAR_LENGTH, Lake

log = logging.getLogger(__name__)

#: Columns of a quotes frame (one row per symbol).
QUOTE_COLUMNS: Final = ("symbol", "price", "ts", "volume", "delayed", "source", "fetched_at")
_DAY_S: Final = 86_400.0


# --- cadence ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cadence:
    """How often every symbol can be refreshed within the budgets, and what limits it."""

    symbols: int
    requests_per_sweep: int
    requests_per_second: float
    sweep_seconds: float | None
    limited_by: str

    def describe(self) -> str:
        """One line for humans: requests per sweep and one sweep every so long."""
        every = "never (no budget)" if self.sweep_seconds is None else f"every {format_seconds(self.sweep_seconds)}"
        return (
            f"{self.symbols} symbols: {self.requests_per_sweep} request(s) per sweep, one sweep {every} "
            f"({self.limited_by})"
        )


def format_seconds(seconds: float) -> str:
    """A duration as 12 s, 2.7 min, 3.1 h or 2.7 days."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / _DAY_S:.1f} days"


def fixed_rate_cadence(n_symbols: int, per_second: float, what: str, *, batch_size: int = 1) -> Cadence:
    """The cadence of a source metered by a fixed request rate (Questrade's 20/s, a polite Yahoo pace)."""
    requests = math.ceil(n_symbols / max(1, batch_size))
    return Cadence(n_symbols, requests, per_second, requests / per_second if per_second > 0 else None, what)


# --- quote sources ---------------------------------------------------------------------------------


class QuoteSource(Protocol):
    """The latest price of one symbol, as a one-row frame with QUOTE_COLUMNS' first five columns."""

    name: str

    def fetch_quote(self, symbol: str) -> pd.DataFrame:
        """One row: symbol, price, ts (UTC time of the price), volume, delayed; empty for an unknown symbol."""
        ...


def empty_quotes() -> pd.DataFrame:
    """A quotes frame with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "symbol": pd.Series([], dtype=object),
            "price": pd.Series([], dtype="float64"),
            "ts": pd.Series([], dtype=UTC_NS),
            "volume": pd.Series([], dtype="float64"),
            "delayed": pd.Series([], dtype=bool),
            "source": pd.Series([], dtype=object),
            "fetched_at": pd.Series([], dtype=UTC_NS),
        }
    )


class LatestBarQuotes:
    """A quote from a bar source's freshest bar (close price, stamped at the bar's end): Yahoo, Questrade."""

    def __init__(
        self, source: Any, *, interval: str = "1m", lookback: timedelta = timedelta(days=5), clock: Clock | None = None
    ) -> None:
        self.source = source
        self.name = str(source.name)
        self.interval = normalize_interval(interval)
        self.lookback = lookback
        self._clock: Clock = clock or WallClock()

    def fetch_quote(self, symbol: str) -> pd.DataFrame:
        """The last bar's close as the price; empty when the source has no recent bar."""
        now = self._clock.now()
        bars: pd.DataFrame = self.source.fetch_bars(symbol, self.interval, now - self.lookback, now)
        bars = bars.dropna(subset=["close"])
        if bars.empty:
            return empty_quotes().iloc[:, :5]
        last = bars.sort_values("ts").iloc[-1]
        end = pd.Timestamp(last["ts"]) + BAR_LENGTH[self.interval]
        return quote_row(symbol, float(last["close"]), end, float(last["volume"]), False)


def quote_row(symbol: str, price: float, ts: pd.Timestamp, volume: float, delayed: bool) -> pd.DataFrame:
    """A one-row quote frame with QUOTE_COLUMNS' first five columns, for any source's freshest price."""
    return pd.DataFrame(
        {
            "symbol": pd.Series([symbol], dtype=object),
            "price": [price],
            "ts": pd.Series([ts], dtype=UTC_NS),
            "volume": [volume],
            "delayed": [delayed],
        }
    )


# --- the poller ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    """One pass over the symbols: the freshest quote per symbol with provenance, and what failed."""

    started_at: datetime
    finished_at: datetime
    quotes: pd.DataFrame
    failures: Mapping[str, str] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """How long the sweep took on the clock."""
        return (self.finished_at - self.started_at).total_seconds()


class LivePoller:
    """Refreshes every symbol once per sweep through the router, sweeps spaced by the achievable cadence."""

    def __init__(
        self,
        router: Router,
        symbols: Sequence[str],
        cadence: Cadence,
        *,
        clock: Clock | None = None,
        mode: Literal["quote", "bar"] = "quote",
        interval: str = "1m",
        lookback: timedelta = timedelta(days=5),
        lake: Lake | None = None,
    ) -> None:
        if cadence.sweep_seconds is None:
            raise ConfigError(f"no budget to poll {len(symbols)} symbols: {cadence.limited_by}")
        self.router = router
        self.symbols = tuple(symbols)
        self.cadence = cadence
        self.mode = mode
        self.interval = normalize_interval(interval)
        self.lookback = lookback
        self.lake = lake
        self._clock: Clock = clock or WallClock()
        #: per symbol, the newest bar stamp the lake holds (read once from the partition, then kept up to date)
        self._stored_until: dict[str, pd.Timestamp] = {}

    def sweep(self) -> Sweep:
        """Fetch every symbol once (failures are collected, never fatal) and return the freshest values."""
        started = self._clock.now()
        rows: list[pd.DataFrame] = []
        failures: dict[str, str] = {}
        for symbol in self.symbols:
            try:
                rows.append(self._one(symbol))
            except PapertraderError as exc:
                failures[symbol] = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("poll %s failed: %s", symbol, failures[symbol])
        frames = [r for r in rows if not r.empty]
        quotes = pd.concat(frames, ignore_index=True) if frames else empty_quotes()
        if self.lake is not None:
            self.lake.tidy()  # merge the sweep's small delta files (O(rows appended), never the history)
        return Sweep(started, self._clock.now(), quotes.loc[:, list(QUOTE_COLUMNS)], failures)

    def _one(self, symbol: str) -> pd.DataFrame:
        if self.mode == "quote":
            routed = self.router.fetch_quote(symbol)
            frame = routed.value
        else:
            now = self._clock.now()
            routed = self.router.fetch_bars(symbol, self.interval, now - self.lookback, now)
            bars = routed.value
            if self.lake is not None and not bars.empty:
                self._store(symbol, bars, routed.source, routed.fetched_at, now)
            bars = bars.dropna(subset=["close"])
            if bars.empty:
                return empty_quotes()
            last = bars.sort_values("ts").iloc[-1]
            end = pd.Timestamp(last["ts"]) + BAR_LENGTH[self.interval]
            frame = quote_row(symbol, float(last["close"]), end, float(last["volume"]), False)
        if frame.empty:
            return empty_quotes()
        out = frame.iloc[:1].copy()
        out["source"] = routed.source
        out["fetched_at"] = pd.Series([pd.Timestamp(routed.fetched_at)], dtype=UTC_NS, index=out.index)
        return out

    def _store(self, symbol: str, bars: pd.DataFrame, source: str, fetched_at: datetime, now: datetime) -> None:
        """Append the closed bars newer than the symbol's stored ones (a delta file: cost independent of history).

        A poll answers with its whole lookback; only what the lake lacks is written, and never the bar still
        forming (its close is not final: stored now, it would later need a rewrite). Bars already stored are left
        as they are (``data backfill`` corrects history).
        """
        assert self.lake is not None
        stored = self._stored_until.get(symbol)
        if stored is None:
            stored = self.lake.last_stamp(symbol, self.interval)
        ts = pd.to_datetime(bars["ts"], utc=True)
        closed = ts + BAR_LENGTH[self.interval] <= pd.Timestamp(now)
        fresh = bars.loc[closed & ((ts > stored) if stored is not None else True)]
        if fresh.empty:
            return
        self.lake.write_bars(fresh, self.interval, source, fetched_at=fetched_at, append=True)
        self._stored_until[symbol] = pd.Timestamp(ts[fresh.index].max())

    def run(self, sweeps: int | None = None, should_stop: Callable[[], bool] = lambda: False) -> Iterator[Sweep]:
        """Sweep repeatedly, each sweep starting one cadence after the last (sleeping on the clock between)."""
        period = float(self.cadence.sweep_seconds or 0.0)
        done = 0
        while (sweeps is None or done < sweeps) and not should_stop():
            result = self.sweep()
            done += 1
            yield result
            if sweeps is not None and done >= sweeps:
                break
            self._clock.sleep(max(0.0, period - result.seconds))


# --- bulk quotes with failover (the live loop's between-bar marks) ------------------------------------


class BulkQuoteSource(Protocol):
    """Many quotes in one request (Alpha Vantage REALTIME_BULK_QUOTES): a quotes frame and the rows set aside."""

    name: str
    batch_size: int

    def fetch_quotes(self, symbols: Sequence[str]) -> tuple[pd.DataFrame, Mapping[str, str]]:
        """Quotes (QUOTE_COLUMNS' first five) for at most `batch_size` symbols, and quarantined symbol -> reason."""
        ...


class QuoteFeed:
    """Every symbol's freshest quote for the live loop: bulk requests first, per-symbol failover for the rest.

    `bulk` is one bulk source or several in failover order (Alpha Vantage's REALTIME_BULK_QUOTES, then Questrade's
    markets/quotes): a bulk request that fails (throttle, malformed answer, no entitlement) or leaves symbols
    out hands those symbols to the next bulk source, still in batches, and what is left to `fallback` (a router
    over per-symbol quote sources: ``LatestBarQuotes`` over Yahoo); whatever none serves is reported in the
    sweep's failures. Nothing raises past `sweep`: the loop keeps running on the quotes it got.
    """

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        bulk: BulkQuoteSource | Sequence[BulkQuoteSource] | None = None,
        fallback: Router | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.bulks: tuple[BulkQuoteSource, ...] = (
            () if bulk is None else tuple(bulk) if isinstance(bulk, Sequence) else (bulk,)
        )
        if not self.bulks and fallback is None:
            raise ConfigError("a quote feed needs a bulk source or a fallback router")
        self.symbols = tuple(symbols)
        self.bulk = self.bulks[0] if self.bulks else None
        self.fallback = fallback
        self._clock: Clock = clock or WallClock()

    def requests_per_sweep(self) -> int:
        """Bulk requests one sweep sends when nothing fails (what the key budgets are asked for)."""
        return math.ceil(len(self.symbols) / self.bulk.batch_size) if self.bulk is not None else len(self.symbols)

    def _bulk(
        self, bulk: BulkQuoteSource, symbols: Sequence[str], frames: list[pd.DataFrame], failures: dict[str, str]
    ) -> list[str]:
        """Ask one bulk source for `symbols` in batches; returns the symbols it did not serve."""
        missing: list[str] = []
        size = max(1, int(bulk.batch_size))
        for lo in range(0, len(symbols), size):
            chunk = list(symbols[lo : lo + size])
            try:
                got, quarantined = bulk.fetch_quotes(chunk)
            except PapertraderError as exc:
                reason = f"{bulk.name}: {type(exc).__name__}: {exc}"[:300]
                log.warning("bulk quotes for %d symbols failed: %s", len(chunk), reason)
                failures.update({s: reason for s in chunk})
                missing += chunk
                continue
            for symbol, why in quarantined.items():
                log.warning("bulk quote %s quarantined: %s", symbol, why)
                failures[symbol] = f"quarantined: {why}"[:300]
            got = got[got["symbol"].isin(chunk)]
            if not got.empty:
                out = got.iloc[:, :5].copy()
                out["source"] = bulk.name
                out["fetched_at"] = pd.Series(pd.Timestamp(self._clock.now()), index=out.index, dtype=UTC_NS)
                frames.append(out)
            served = set(got["symbol"])
            for symbol in served:
                failures.pop(symbol, None)
            missing += [s for s in chunk if s not in served]
        return missing

    def sweep(self) -> Sweep:
        """One pass over every symbol; failures are collected (and logged), never raised."""
        started = self._clock.now()
        frames: list[pd.DataFrame] = []
        failures: dict[str, str] = {}
        missing: list[str] = list(self.symbols)
        for bulk in self.bulks:
            if not missing:
                break
            missing = self._bulk(bulk, missing, frames, failures)
        if self.fallback is not None:
            for symbol in missing:
                try:
                    routed = self.fallback.fetch_quote(symbol)
                except PapertraderError as exc:
                    failures[symbol] = f"{type(exc).__name__}: {exc}"[:300]
                    continue
                if routed.value.empty:
                    failures.setdefault(symbol, "no quote from any source")
                    continue
                out = routed.value.iloc[:1, :5].copy()
                out["source"] = routed.source
                out["fetched_at"] = pd.Series(pd.Timestamp(routed.fetched_at), index=out.index, dtype=UTC_NS)
                frames.append(out)
                failures.pop(symbol, None)
        quotes = pd.concat(frames, ignore_index=True) if frames else empty_quotes()
        return Sweep(started, self._clock.now(), quotes.loc[:, list(QUOTE_COLUMNS)], failures)
