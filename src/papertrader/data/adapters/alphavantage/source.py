"""``AlphaVantageSource``: the data ports (bars, macro, fundamentals, news) served by Alpha Vantage.

Choices made here, on top of the client:

* Daily bars use TIME_SERIES_DAILY_ADJUSTED when a premium key is configured (raw OHLCV plus ``adj_factor``)
  and TIME_SERIES_DAILY (raw, no factor) otherwise; ``outputsize=full`` only when ``start`` is more than
  140 days back (compact holds the last 100 sessions). Today's bar is dropped until ``daily_settle_minutes``
  after the 16:00 New York close, so a partial session is never stored as a final bar.
* Intraday bars are requested unadjusted (``adjusted=false``, matching raw daily bars) with extended hours.
  A range starting within the last 25 days is one request without ``month`` (the trailing 30 days, with
  the premium entitlement); older ranges are fetched month by month (``month=YYYY-MM``, ``outputsize=full``).
  Bars that may still be forming (ending after now, or after now minus the entitlement delay) are dropped.
* Macro series are named ``FUNCTION[:OPTION...]`` where options are a treasury maturity or an interval,
  e.g. ``CPI``, ``TREASURY_YIELD:10year:daily``, ``WTI:weekly``; missing observations are dropped.
* News: one request per symbol (the vendor ANDs tickers), ``limit=1000``, filtered to ``[start, end)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Final

import httpx
import pandas as pd

from papertrader.config.alphavantage import AlphaVantageSettings
from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import DataError
from papertrader.data.adapters.alphavantage.bars import TO_AV_INTERVAL, bars_only
from papertrader.data.adapters.alphavantage.client import AlphaVantageClient, OutputSize
from papertrader.data.adapters.alphavantage.fundamentals import empty_fundamentals
from papertrader.data.adapters.alphavantage.keys import EASTERN, KeyManager, Tier
from papertrader.data.adapters.alphavantage.macro import MACRO_FUNCTIONS, TREASURY_MATURITIES
from papertrader.data.adapters.alphavantage.news import empty_news
from papertrader.data.schema import BAR_COLUMNS, empty_bars, normalize_interval

log = logging.getLogger(__name__)

SOURCE_NAME: Final = "alphavantage"
_COMPACT_DAYS: Final = 140
_RECENT_DAYS: Final = 25
_CLOSE: Final = time(16, 0)
_MINUTES: Final = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60}


def _aware(value: datetime, what: str) -> pd.Timestamp:
    if value.tzinfo is None:
        raise DataError(f"{what}={value!r} has no timezone; pass an aware datetime (e.g. UTC)")
    return pd.Timestamp(value).tz_convert("UTC")


def _months(start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    """The YYYY-MM months (New York) that [start, end) touches."""
    first = start.tz_convert(EASTERN).tz_localize(None).to_period("M")
    last = (end - pd.Timedelta(microseconds=1)).tz_convert(EASTERN).tz_localize(None).to_period("M")
    return [str(p) for p in pd.period_range(first, last, freq="M")]


class AlphaVantageSource:
    """BarSource, MacroSource, FundamentalsSource and NewsSource over the budgeted client."""

    name = SOURCE_NAME

    def __init__(self, client: AlphaVantageClient, *, clock: Clock | None = None) -> None:
        self.client = client
        self._clock: Clock = clock or WallClock()

    @classmethod
    def from_env(
        cls,
        *,
        clock: Clock | None = None,
        db_url: str | None = None,
        settings: AlphaVantageSettings | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> AlphaVantageSource:
        """Wire keys (env/.env), usage database (project settings) and HTTP client for production."""
        settings = settings or AlphaVantageSettings()
        clock = clock or WallClock()
        keys = KeyManager.from_env(clock=clock, db_url=db_url, settings=settings, sleep=sleep)
        client = AlphaVantageClient(keys, settings, clock=clock, transport=transport, sleep=sleep)
        return cls(client, clock=clock)

    def __repr__(self) -> str:
        return f"AlphaVantageSource({self.client!r})"

    # --- bars ----------------------------------------------------------------------------------------

    def fetch_bars(self, symbol: str, interval: str, start: datetime, end: datetime) -> pd.DataFrame:
        """Bars with start <= ts < end (UTC, bar start); daily adds adj_factor when a premium key exists."""
        lo, hi = _aware(start, "start"), _aware(end, "end")
        iv = normalize_interval(interval)
        if hi <= lo:
            return empty_bars()
        frame = self._daily(symbol, lo) if iv == "1d" else self._intraday(symbol, iv, lo, hi)
        inside = (frame["ts"] >= lo) & (frame["ts"] < hi)
        return frame.loc[inside].reset_index(drop=True)

    def _daily(self, symbol: str, start: pd.Timestamp) -> pd.DataFrame:
        now = pd.Timestamp(self._clock.now()).tz_convert("UTC")
        size: OutputSize = "full" if start < now - pd.Timedelta(days=_COMPACT_DAYS) else "compact"
        if self.client.keys.has_tier(Tier.PREMIUM):
            frame = bars_only(self.client.daily_adjusted(symbol, outputsize=size), with_factor=True)
        else:
            frame = bars_only(self.client.daily(symbol, outputsize=size))
        local_now = now.tz_convert(EASTERN)
        settle = datetime.combine(local_now.date(), _CLOSE, tzinfo=EASTERN) + timedelta(
            minutes=self.client.settings.daily_settle_minutes
        )
        today = pd.Timestamp(datetime.combine(local_now.date(), time(0), tzinfo=EASTERN)).tz_convert("UTC")
        final = frame["ts"] < today if local_now < settle else frame["ts"] <= today
        dropped = int((~final & frame["ts"].notna()).sum())
        if dropped:
            log.info("alphavantage %s: dropped %d daily bar(s) of a session not yet settled", symbol, dropped)
        return frame.loc[final | frame["ts"].isna()].reset_index(drop=True)

    def _intraday(self, symbol: str, iv: str, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
        if iv not in TO_AV_INTERVAL:
            raise DataError(f"Alpha Vantage has no {iv} bars")
        now = pd.Timestamp(self._clock.now()).tz_convert("UTC")
        av_iv = TO_AV_INTERVAL[iv]
        if lo >= now - pd.Timedelta(days=_RECENT_DAYS):
            parts = [self.client.intraday(symbol, av_iv, outputsize="full", adjusted=False)]
        else:
            parts = [
                self.client.intraday(symbol, av_iv, month=m, outputsize="full", adjusted=False)
                for m in _months(lo, min(hi, now))
            ]
        frames = [p for p in parts if len(p)]
        if not frames:
            return empty_bars()
        frame = pd.concat(frames, ignore_index=True)
        frame = frame.drop_duplicates(subset=["ts"], keep="last").sort_values("ts", kind="stable")
        delay = self.client.settings.realtime_delay_minutes if self.client.settings.entitlement == "delayed" else 0
        horizon = now - pd.Timedelta(minutes=delay)
        complete = frame["ts"] + pd.Timedelta(minutes=_MINUTES[iv]) <= horizon
        return frame.loc[complete | frame["ts"].isna(), list(BAR_COLUMNS)].reset_index(drop=True)

    # --- macro, fundamentals, news -------------------------------------------------------------------

    def fetch_series(self, series: str) -> pd.DataFrame:
        """A macro series by name ``FUNCTION[:maturity][:interval]``; rows with no value are dropped."""
        function, *options = [p.strip() for p in str(series).split(":") if p.strip()] or [""]
        function = function.upper()
        if function not in MACRO_FUNCTIONS:
            raise DataError(f"unknown Alpha Vantage series {series!r}: use one of {', '.join(MACRO_FUNCTIONS)}")
        interval: str | None = None
        maturity: str | None = None
        for option in (o.lower() for o in options):
            if function == "TREASURY_YIELD" and option in TREASURY_MATURITIES:
                maturity = option
            elif option in MACRO_FUNCTIONS[function]:
                interval = option
            else:
                raise DataError(f"series {series!r}: {option!r} is neither a maturity nor an interval of {function}")
        frame = self.client.macro(function, interval=interval, maturity=maturity)
        missing = int(frame["value"].isna().sum())
        if missing:
            log.info("alphavantage %s: dropped %d missing observation(s)", series, missing)
        return frame.loc[frame["value"].notna() & frame["date"].notna(), ["date", "value"]].reset_index(drop=True)

    def fetch_fundamentals(self, symbol: str) -> pd.DataFrame:
        """Overview (available from fetch time) and quarterly earnings (from report time), oldest first."""
        parts = [self.client.overview(symbol), self.client.earnings(symbol)]
        frames = [p for p in parts if len(p)]
        if not frames:
            return empty_fundamentals()
        frame = pd.concat(frames, ignore_index=True)
        return frame.sort_values("available_at", kind="stable", na_position="last").reset_index(drop=True)

    def fetch_news(self, symbols: list[str], start: datetime, end: datetime) -> pd.DataFrame:
        """Scored news per symbol published in [start, end), one request per symbol."""
        lo, hi = _aware(start, "start"), _aware(end, "end")
        frames = []
        for symbol in symbols:
            frame = self.client.news_sentiment(
                tickers=[symbol], time_from=lo.to_pydatetime(), time_to=hi.to_pydatetime(), limit=1000
            )
            frames.append(frame)
        non_empty = [f for f in frames if len(f)]
        if not non_empty:
            return empty_news()
        news = pd.concat(non_empty, ignore_index=True)
        news = news.loc[(news["published_at"] >= lo) & (news["published_at"] < hi)]
        news = news.drop_duplicates(subset=["symbol", "url", "published_at"], keep="first")
        return news.sort_values("published_at", kind="stable").reset_index(drop=True)
