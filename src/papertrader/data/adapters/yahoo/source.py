"""`YahooSource`: the BarSource over Yahoo's chart endpoint, in the lake's conventions.

* Bars are raw (as-traded) OHLCV with an ``adj_factor`` column (adjusted = raw × adj_factor), see adjust.py.
* Intraday bars are stamped at their start in UTC; daily bars at midnight America/New_York of the session
  date, the session date being taken in the exchange's own timezone (``meta.exchangeTimezoneName``).
* Lookback windows are enforced before sending (limits.py): by default an out-of-window start is a
  DataError; with ``clip_to_lookback`` it is clipped, logged and reported in ``ChartData.clipped_from``.
* With ``events_through_now`` (default) the split/dividend events are fetched up to now, so the raw prices
  are exact: daily requests simply run to now (one request, then trimmed); intraday fetches add one daily
  request from a week before the start up to now, whose closes also price the dividends. That daily
  reference is cached per symbol (LRU) for the rest of the exchange day it was fetched on and reused,
  sliced to the new start, while it reaches back far enough: a new split or dividend can only go ex on a
  new session day, and an ex-date of today also arrives in the intraday payload's own events.
"""

from __future__ import annotations

import logging
import random
import zoneinfo
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd

from papertrader.config.yahoo import YahooSettings
from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import DataError
from papertrader.data.adapters.yahoo.adjust import AdjustedBars, AdjustmentCheck, adjust
from papertrader.data.adapters.yahoo.client import YahooChartClient
from papertrader.data.adapters.yahoo.limits import plan_requests
from papertrader.data.adapters.yahoo.parse import ChartPayload
from papertrader.data.schema import UTC_NS, empty_bars

log = logging.getLogger(__name__)

_DAY = timedelta(days=1)
_PROBE_LEAD = timedelta(days=7)
#: Symbols whose daily reference is kept between intraday fetches (a live board is at most a few hundred).
REFERENCE_CACHE_SIZE = 512


@dataclass(frozen=True)
class _CachedReference:
    """A daily reference payload, the period1 it was asked from, and the exchange day it is valid for."""

    period1: datetime
    day: str
    payload: ChartPayload


def _exchange_day(now: datetime, timezone: str | None) -> str:
    """The session date of `now` in the exchange's timezone: the cache's validity key."""
    tz = zoneinfo.ZoneInfo(timezone or "America/New_York")
    return now.astimezone(tz).date().isoformat()


def _slice_from(payload: ChartPayload, period1: datetime) -> ChartPayload:
    """The rows and events at or after period1, i.e. what a fresh request from period1 would return."""
    cut = int(period1.timestamp())
    keep = payload.ts >= cut
    adj = payload.adjclose[keep] if payload.adjclose is not None else None
    return replace(
        payload,
        ts=payload.ts[keep],
        open=payload.open[keep],
        high=payload.high[keep],
        low=payload.low[keep],
        close=payload.close[keep],
        volume=payload.volume[keep],
        adjclose=adj,
        splits=tuple(s for s in payload.splits if s.ts >= cut),
        dividends=tuple(d for d in payload.dividends if d.ts >= cut),
    )


@dataclass(frozen=True)
class ChartData:
    """Everything one fetch learned: bars, the events behind adj_factor, and what was clipped or doubted."""

    bars: pd.DataFrame
    splits: pd.DataFrame
    dividends: pd.DataFrame
    currency: str | None
    timezone: str | None
    dropped_null: int
    check: AdjustmentCheck
    clipped_from: datetime | None
    requests: int


def _aware(ts: datetime) -> datetime:
    """Naive datetimes mean UTC (the lake's convention); aware ones are converted to UTC."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def empty_adjusted_bars() -> pd.DataFrame:
    """An empty bars frame with the adj_factor column, so callers never special-case 'no data'."""
    frame = empty_bars()
    frame["adj_factor"] = pd.Series([], dtype="float64")
    return frame


class YahooSource:
    """Historical and recent bars from Yahoo Finance's chart endpoint."""

    name = "yahoo"

    def __init__(
        self,
        client: YahooChartClient | None = None,
        *,
        settings: YahooSettings | None = None,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client or YahooChartClient(settings, clock=clock or WallClock(), transport=transport, rng=rng)
        self.settings = self.client.settings
        self.clock = self.client.clock
        self._references: OrderedDict[str, _CachedReference] = OrderedDict()

    def fetch_bars(self, symbol: str, interval: str, start: datetime, end: datetime) -> pd.DataFrame:
        """Bars with start <= ts < end: raw OHLCV plus adj_factor, as the BarSource port promises."""
        return self.fetch_chart(symbol, interval, start, end).bars

    def fetch_chart(self, symbol: str, interval: str, start: datetime, end: datetime) -> ChartData:
        """Like fetch_bars, but also return events, dropped rows, the adjclose check and any clipping."""
        start, end = _aware(start), _aware(end)
        if end <= start:
            raise DataError(f"empty range: end {end.isoformat()} is not after start {start.isoformat()}")
        now = self.clock.now()
        plan = plan_requests(
            interval,
            start,
            end,
            now,
            margin=timedelta(seconds=self.settings.lookback_margin_s),
            clip=self.settings.clip_to_lookback,
        )
        if plan.clipped_from is not None:
            log.warning(
                "yahoo %s %s: start clipped from %s to %s (Yahoo's lookback window)",
                symbol,
                plan.interval,
                plan.clipped_from.isoformat(),
                plan.start.isoformat(),
            )
        sent_before = self.client.requests_sent
        through_now = self.settings.events_through_now
        payloads: list[ChartPayload] = []
        reference: ChartPayload | None = None
        if plan.interval == "1d":
            if plan.windows:
                stop = now if through_now else min(now, plan.end + _DAY)
                payloads.append(self._get(symbol, "1d", plan.start - _DAY, stop))
        else:
            payloads.extend(self._get(symbol, plan.yahoo_interval, w.start, w.end) for w in plan.windows)
            if through_now and plan.windows:
                reference = self._reference(symbol, plan.start - _PROBE_LEAD, now)
        adjusted = adjust(symbol, plan.interval, payloads, reference)
        bars = self._trim(adjusted, plan.start, plan.end)
        currency = next((p.currency for p in payloads if p.currency), None)
        tz = next((p.timezone for p in payloads if len(p)), None)
        return ChartData(
            bars=bars,
            splits=adjusted.splits,
            dividends=adjusted.dividends,
            currency=currency,
            timezone=tz,
            dropped_null=adjusted.dropped_null,
            check=adjusted.check,
            clipped_from=plan.clipped_from,
            requests=self.client.requests_sent - sent_before,
        )

    def _reference(self, symbol: str, period1: datetime, now: datetime) -> ChartPayload:
        """The daily events/closes from period1 through now, fetched once per symbol and exchange day."""
        cached = self._references.get(symbol)
        if (
            cached is not None
            and cached.period1 <= period1
            and cached.day == _exchange_day(now, cached.payload.timezone)
        ):
            self._references.move_to_end(symbol)
            return _slice_from(cached.payload, period1)
        payload = self._get(symbol, "1d", period1, now)
        self._references[symbol] = _CachedReference(period1, _exchange_day(now, payload.timezone), payload)
        self._references.move_to_end(symbol)
        while len(self._references) > REFERENCE_CACHE_SIZE:
            self._references.popitem(last=False)
        return payload

    def _get(self, symbol: str, interval: str, period1: datetime, period2: datetime) -> ChartPayload:
        return self.client.get_chart(
            symbol,
            interval=interval,
            period1=period1,
            period2=period2,
            include_pre_post=self.settings.include_pre_post and interval != "1d",
        )

    @staticmethod
    def _trim(adjusted: AdjustedBars, start: datetime, end: datetime) -> pd.DataFrame:
        """Keep start <= ts < end; the request was widened to catch other timezones' sessions and events."""
        bars = adjusted.bars
        if bars.empty:
            return empty_adjusted_bars()
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        keep = (bars["ts"] >= lo) & (bars["ts"] < hi)
        out = bars.loc[keep].reset_index(drop=True)
        out["ts"] = out["ts"].astype(UTC_NS)
        return out
