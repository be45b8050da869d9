"""The Alpha Vantage client: one method per endpoint, each request budgeted by the key manager.

``query`` is the one path to the vendor: it leases a slot on the best key for the endpoint's purpose
(premium-only functions lease only premium keys), sends, classifies, reports the outcome to the key
manager, and then:

* data or empty -> returned;
* daily cap / bad key -> the key is retired (persisted) and the request moves to the next key; when none is
  left, ``QuotaExhaustedError`` (with the next slot time) or the ``AuthError`` is raised;
* burst / per-minute throttle / HTTP 429 -> the key backs off with jitter (persisted) and the request is
  retried, on another key or after the backoff, up to ``max_retries``;
* 5xx, timeouts, network errors, HTML pages, truncated bodies, unknown notices -> retried after a jittered
  backoff up to ``max_retries``, then ``TemporaryError``;
* bad call -> ``DataError``; premium-only -> ``PremiumEndpointError`` (a ``ConfigError``).

Premium keys get ``entitlement`` (settings default ``delayed``) on intraday and quote requests for current
data, except on requests for a past ``month``; free keys never get it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Final, Literal

import httpx
import pandas as pd

from papertrader.config.alphavantage import AlphaVantageSettings
from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import AuthError, DataError, PapertraderError, TemporaryError
from papertrader.data.adapters.alphavantage.bars import (
    av_interval,
    parse_bars_csv,
    parse_daily,
    parse_daily_adjusted,
    parse_intraday,
)
from papertrader.data.adapters.alphavantage.bulk import BULK_LIMIT, BulkAnswer, parse_bulk_quotes
from papertrader.data.adapters.alphavantage.classify import KEY_FAILOVER, RETRYABLE, Classified, error_for
from papertrader.data.adapters.alphavantage.fundamentals import (
    parse_earnings,
    parse_insider_transactions,
    parse_overview,
    parse_statement,
    parse_top_movers,
)
from papertrader.data.adapters.alphavantage.indicators import parse_indicator, parse_indicator_csv
from papertrader.data.adapters.alphavantage.keys import (
    EASTERN,
    ApiKey,
    KeyBudgetExhaustedError,
    KeyManager,
    KeyOutcome,
    Purpose,
    Tier,
)
from papertrader.data.adapters.alphavantage.macro import (
    MACRO_FUNCTIONS,
    TREASURY_MATURITIES,
    parse_macro,
    parse_macro_csv,
)
from papertrader.data.adapters.alphavantage.news import parse_news
from papertrader.data.adapters.alphavantage.quote import parse_global_quote
from papertrader.data.adapters.alphavantage.transport import HttpFetcher

log = logging.getLogger(__name__)

Datatype = Literal["json", "csv"]
Entitlement = Literal["delayed", "realtime", "none"]
OutputSize = Literal["compact", "full"]
INDICATOR_INTERVALS: Final = ("1min", "5min", "15min", "30min", "60min", "daily", "weekly", "monthly")
_MONTH: Final = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_SYMBOL: Final = re.compile(r"^[A-Za-z0-9.\-^:=/]{1,32}$")


def _check_symbol(symbol: str) -> str:
    value = str(symbol).strip()
    if not _SYMBOL.match(value):
        raise DataError(f"not a symbol Alpha Vantage accepts: {symbol!r}")
    return value


def _parsed(parse: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Run a parser; an unforeseen failure on a strange answer still surfaces as a DataError, nothing else."""
    try:
        return parse()
    except PapertraderError:
        raise
    except Exception as exc:  # the parsers are fuzzed; this is the last line of defence
        raise DataError(f"Alpha Vantage answer has an unexpected format ({type(exc).__name__}: {exc})"[:300]) from exc


def _flag(value: bool) -> str:
    return "true" if value else "false"


class AlphaVantageClient:
    """Typed access to every Alpha Vantage endpoint papertrader uses, each answer parsed into a frame."""

    def __init__(
        self,
        keys: KeyManager,
        settings: AlphaVantageSettings | None = None,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings or AlphaVantageSettings()
        self.keys = keys
        self._clock: Clock = clock or WallClock()
        self._sleep = sleep or self._clock.sleep
        self._http = HttpFetcher(self.settings, transport)

    def __repr__(self) -> str:
        return f"AlphaVantageClient({self.settings.url!r}, {self.keys!r})"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> AlphaVantageClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- the one path to the vendor ------------------------------------------------------------------

    def _params(
        self, function: str, params: Mapping[str, object], key: ApiKey, csv: bool, entitlement: str | None
    ) -> dict[str, str]:
        out = {"function": function}
        for name, value in params.items():
            if value is None or name.lower() == "apikey":
                continue
            out[name] = _flag(value) if isinstance(value, bool) else str(value)
        if csv:
            out["datatype"] = "csv"
        if entitlement and key.tier is Tier.PREMIUM:
            out["entitlement"] = entitlement
        return out

    def query(
        self,
        function: str,
        params: Mapping[str, object],
        *,
        purpose: Purpose,
        csv: bool = False,
        entitlement: str | None = None,
    ) -> Classified:
        """Send one logical request with budgeting, failover and retries; returns data or raises."""
        function = function.upper()
        premium_only = function in self.settings.premium_functions
        context = f"{function} {params.get('symbol', '')}".strip()
        retries = 0
        failovers = 0
        last_key_error: PapertraderError | None = None
        while True:
            try:
                lease = self.keys.acquire(purpose, premium_only=premium_only)
            except KeyBudgetExhaustedError:
                if isinstance(last_key_error, AuthError):
                    raise last_key_error from None
                raise
            send = self._params(function, params, lease.key, csv, entitlement)
            try:
                classified = self._http.fetch(send, lease.key, expect_csv=csv)
            except TemporaryError:
                self.keys.record(lease, KeyOutcome.OK)
                retries += 1
                if retries > self.settings.max_retries:
                    raise
                self._pause(retries)
                continue
            self.keys.record(lease, classified.key_outcome, min_backoff_s=classified.retry_after)
            if classified.ok:
                return classified
            error = error_for(classified, f"{context} (key {lease.key.masked})")
            assert error is not None
            if classified.kind in KEY_FAILOVER:
                log.warning("Alpha Vantage %s on key %s: %s", context, lease.key.masked, classified.kind.value)
                last_key_error = error
                failovers += 1
                if failovers > len(self.keys.keys):
                    raise error
                continue
            if classified.kind in RETRYABLE:
                retries += 1
                if retries > self.settings.max_retries:
                    raise error
                if classified.key_outcome is not KeyOutcome.THROTTLED:
                    self._pause(retries)
                continue
            raise error

    def _pause(self, attempt: int) -> None:
        """Wait before retrying a temporary failure (jittered exponential, via the injected sleep)."""
        delay = self.keys.backoff_delay(attempt)
        log.info("Alpha Vantage: retry %d in %.2fs", attempt, delay)
        self._sleep(delay)

    def _entitlement(self, entitlement: Entitlement | None, month: str | None = None) -> str | None:
        if entitlement == "none" or month is not None:
            return None
        return entitlement or self.settings.entitlement

    # --- market data ---------------------------------------------------------------------------------

    def intraday(
        self,
        symbol: str,
        interval: str = "5min",
        *,
        month: str | None = None,
        outputsize: OutputSize = "compact",
        extended_hours: bool = True,
        adjusted: bool = True,
        entitlement: Entitlement | None = None,
        datatype: Datatype = "json",
    ) -> pd.DataFrame:
        """Intraday bars (UTC, bar start) for one symbol; `month` (YYYY-MM) reaches back into history."""
        symbol = _check_symbol(symbol)
        iv = av_interval(interval)
        if month is not None and not _MONTH.match(month):
            raise DataError(f"month must be YYYY-MM, got {month!r}")
        params = {
            "symbol": symbol,
            "interval": iv,
            "month": month,
            "outputsize": outputsize,
            "extended_hours": extended_hours,
            "adjusted": adjusted,
        }
        got = self.query(
            "TIME_SERIES_INTRADAY",
            params,
            purpose=Purpose.MARKET,
            csv=datatype == "csv",
            entitlement=self._entitlement(entitlement, month),
        )
        label, fallback = self.settings.intraday_label, self.settings.intraday_label_fallback
        if isinstance(got.payload, str):
            return _parsed(lambda: parse_bars_csv(got.payload, symbol, iv, label=label, fallback=fallback))
        return _parsed(lambda: parse_intraday(got.payload, symbol, iv, label=label, fallback=fallback))

    def daily(self, symbol: str, *, outputsize: OutputSize = "compact", datatype: Datatype = "json") -> pd.DataFrame:
        """Raw daily bars stamped at midnight New York (UTC); the newest may be today's partial bar."""
        symbol = _check_symbol(symbol)
        got = self.query(
            "TIME_SERIES_DAILY",
            {"symbol": symbol, "outputsize": outputsize},
            purpose=Purpose.MARKET,
            csv=datatype == "csv",
        )
        if isinstance(got.payload, str):
            return _parsed(lambda: parse_bars_csv(got.payload, symbol, "1d"))
        return _parsed(lambda: parse_daily(got.payload, symbol))

    def daily_adjusted(
        self, symbol: str, *, outputsize: OutputSize = "compact", datatype: Datatype = "json"
    ) -> pd.DataFrame:
        """Raw daily bars plus adjusted_close, dividend, split coefficient and adj_factor (premium)."""
        symbol = _check_symbol(symbol)
        got = self.query(
            "TIME_SERIES_DAILY_ADJUSTED",
            {"symbol": symbol, "outputsize": outputsize},
            purpose=Purpose.MARKET,
            csv=datatype == "csv",
        )
        if isinstance(got.payload, str):
            return _parsed(lambda: parse_bars_csv(got.payload, symbol, "1d"))
        return _parsed(lambda: parse_daily_adjusted(got.payload, symbol))

    def global_quote(self, symbol: str, *, entitlement: Entitlement | None = None) -> pd.DataFrame:
        """The latest quote (one row; none for an unknown symbol), delayed or realtime on premium keys."""
        symbol = _check_symbol(symbol)
        got = self.query(
            "GLOBAL_QUOTE", {"symbol": symbol}, purpose=Purpose.MARKET, entitlement=self._entitlement(entitlement)
        )
        return _parsed(lambda: parse_global_quote(got.payload, symbol))

    def bulk_quotes(self, symbols: Sequence[str], *, entitlement: Entitlement | None = None) -> BulkAnswer:
        """Up to 100 quotes in one premium REALTIME_BULK_QUOTES request (one budget slot for many symbols)."""
        wanted = [_check_symbol(s) for s in symbols]
        if not 0 < len(wanted) <= BULK_LIMIT:
            raise DataError(f"bulk quotes take 1 to {BULK_LIMIT} symbols, got {len(wanted)}")
        got = self.query(
            "REALTIME_BULK_QUOTES",
            {"symbol": ",".join(wanted)},
            purpose=Purpose.MARKET,
            entitlement=self._entitlement(entitlement),
        )
        try:
            return parse_bulk_quotes(got.payload, wanted)
        except PapertraderError:
            raise
        except Exception as exc:  # a strange answer surfaces as a DataError, never anything else
            raise DataError(f"Alpha Vantage bulk quotes answer could not be read: {type(exc).__name__}: {exc}") from exc

    def indicator(
        self,
        function: str,
        symbol: str,
        interval: str,
        *,
        params: Mapping[str, object] | None = None,
        month: str | None = None,
        datatype: Datatype = "json",
    ) -> pd.DataFrame:
        """Any technical indicator (RSI, SMA, MACD, ...) as UTC-stamped float columns."""
        symbol = _check_symbol(symbol)
        iv = str(interval).strip().lower()
        if iv not in INDICATOR_INTERVALS:
            raise DataError(f"indicator interval must be one of {', '.join(INDICATOR_INTERVALS)}, got {interval!r}")
        if month is not None and not _MONTH.match(month):
            raise DataError(f"month must be YYYY-MM, got {month!r}")
        query = {"symbol": symbol, "interval": iv, "month": month, **(params or {})}
        function = function.upper()
        got = self.query(function, query, purpose=Purpose.MARKET, csv=datatype == "csv")
        fallback = self.settings.intraday_label_fallback
        if isinstance(got.payload, str):
            return _parsed(lambda: parse_indicator_csv(got.payload, symbol, iv, fallback=fallback))
        return _parsed(lambda: parse_indicator(got.payload, symbol, function, fallback=fallback))

    def rsi(
        self, symbol: str, interval: str = "daily", *, time_period: int = 14, series_type: str = "close"
    ) -> pd.DataFrame:
        """Relative strength index from the vendor."""
        return self.indicator("RSI", symbol, interval, params={"time_period": time_period, "series_type": series_type})

    def sma(
        self, symbol: str, interval: str = "daily", *, time_period: int = 20, series_type: str = "close"
    ) -> pd.DataFrame:
        """Simple moving average from the vendor."""
        return self.indicator("SMA", symbol, interval, params={"time_period": time_period, "series_type": series_type})

    def macd(
        self,
        symbol: str,
        interval: str = "daily",
        *,
        series_type: str = "close",
        fastperiod: int = 12,
        slowperiod: int = 26,
        signalperiod: int = 9,
    ) -> pd.DataFrame:
        """MACD, its signal line and histogram from the vendor."""
        params = {
            "series_type": series_type,
            "fastperiod": fastperiod,
            "slowperiod": slowperiod,
            "signalperiod": signalperiod,
        }
        return self.indicator("MACD", symbol, interval, params=params)

    def top_gainers_losers(self) -> pd.DataFrame:
        """Today's top gainers, losers and most active US tickers."""
        got = self.query("TOP_GAINERS_LOSERS", {}, purpose=Purpose.MARKET)
        return _parsed(lambda: parse_top_movers(got.payload))

    # --- fundamentals and news -----------------------------------------------------------------------

    def overview(self, symbol: str) -> pd.DataFrame:
        """Company overview ratios as one fundamentals row, available from the fetch time."""
        symbol = _check_symbol(symbol)
        got = self.query("OVERVIEW", {"symbol": symbol}, purpose=Purpose.FUNDAMENTALS)
        return _parsed(lambda: parse_overview(got.payload, symbol, self._clock.now()))

    def earnings(self, symbol: str) -> pd.DataFrame:
        """Quarterly reported/estimated EPS and surprise, available from each report date and time."""
        symbol = _check_symbol(symbol)
        got = self.query("EARNINGS", {"symbol": symbol}, purpose=Purpose.FUNDAMENTALS)
        return _parsed(lambda: parse_earnings(got.payload, symbol))

    def income_statement(self, symbol: str, *, lag_days: float = 90.0) -> pd.DataFrame:
        """Quarterly revenue and net income, available `lag_days` after each fiscal period end (no report date)."""
        symbol = _check_symbol(symbol)
        got = self.query("INCOME_STATEMENT", {"symbol": symbol}, purpose=Purpose.FUNDAMENTALS)
        return _parsed(lambda: parse_statement(got.payload, symbol, "INCOME_STATEMENT", lag_days))

    def balance_sheet(self, symbol: str, *, lag_days: float = 90.0) -> pd.DataFrame:
        """Quarterly assets, liabilities and equity, available `lag_days` after each fiscal period end."""
        symbol = _check_symbol(symbol)
        got = self.query("BALANCE_SHEET", {"symbol": symbol}, purpose=Purpose.FUNDAMENTALS)
        return _parsed(lambda: parse_statement(got.payload, symbol, "BALANCE_SHEET", lag_days))

    def insider_transactions(self, symbol: str) -> pd.DataFrame:
        """Insider buys and sells for one symbol."""
        symbol = _check_symbol(symbol)
        got = self.query("INSIDER_TRANSACTIONS", {"symbol": symbol}, purpose=Purpose.FUNDAMENTALS)
        return _parsed(lambda: parse_insider_transactions(got.payload, symbol))

    def news_sentiment(
        self,
        *,
        tickers: Sequence[str] = (),
        topics: Sequence[str] = (),
        time_from: datetime | None = None,
        time_to: datetime | None = None,
        sort: Literal["LATEST", "EARLIEST", "RELEVANCE"] = "LATEST",
        limit: int = 50,
    ) -> pd.DataFrame:
        """Scored news per ticker (tickers are ANDed by the vendor: pass one to get all its news)."""
        symbols = [_check_symbol(t) for t in tickers]
        if not 1 <= limit <= 1000:
            raise DataError(f"news limit must be 1..1000, got {limit}")
        params = {
            "tickers": ",".join(symbols) or None,
            "topics": ",".join(topics) or None,
            "time_from": _compact(time_from),
            "time_to": _compact(time_to),
            "sort": sort,
            "limit": limit,
        }
        got = self.query("NEWS_SENTIMENT", params, purpose=Purpose.SENTIMENT)
        return _parsed(lambda: parse_news(got.payload, symbols or None))

    # --- macro ---------------------------------------------------------------------------------------

    def macro(
        self,
        function: str,
        *,
        interval: str | None = None,
        maturity: str | None = None,
        datatype: Datatype = "json",
    ) -> pd.DataFrame:
        """An economic or commodity series as (date, value), dated by reference period (midnight UTC)."""
        function = function.upper()
        if function not in MACRO_FUNCTIONS:
            raise DataError(
                f"unknown Alpha Vantage macro function {function!r}: use one of {', '.join(MACRO_FUNCTIONS)}"
            )
        allowed = MACRO_FUNCTIONS[function]
        if interval is not None and interval not in allowed:
            raise DataError(f"{function} interval must be one of {', '.join(allowed) or '(none)'}, got {interval!r}")
        if maturity is not None and (function != "TREASURY_YIELD" or maturity not in TREASURY_MATURITIES):
            raise DataError(f"maturity applies to TREASURY_YIELD only: one of {', '.join(TREASURY_MATURITIES)}")
        got = self.query(
            function, {"interval": interval, "maturity": maturity}, purpose=Purpose.MACRO, csv=datatype == "csv"
        )
        if isinstance(got.payload, str):
            return _parsed(lambda: parse_macro_csv(got.payload))
        return _parsed(lambda: parse_macro(got.payload, function))

    def cpi(self, interval: str = "monthly") -> pd.DataFrame:
        """US consumer price index."""
        return self.macro("CPI", interval=interval)

    def federal_funds_rate(self, interval: str = "monthly") -> pd.DataFrame:
        """Effective federal funds rate."""
        return self.macro("FEDERAL_FUNDS_RATE", interval=interval)

    def treasury_yield(self, maturity: str = "10year", interval: str = "monthly") -> pd.DataFrame:
        """US treasury yield of one maturity."""
        return self.macro("TREASURY_YIELD", interval=interval, maturity=maturity)

    def unemployment(self) -> pd.DataFrame:
        """US unemployment rate, monthly."""
        return self.macro("UNEMPLOYMENT")

    def real_gdp(self, interval: str = "quarterly") -> pd.DataFrame:
        """US real GDP."""
        return self.macro("REAL_GDP", interval=interval)

    def wti(self, interval: str = "monthly") -> pd.DataFrame:
        """West Texas Intermediate crude oil price."""
        return self.macro("WTI", interval=interval)

    def nonfarm_payroll(self) -> pd.DataFrame:
        """US total nonfarm payroll (thousands of people), monthly."""
        return self.macro("NONFARM_PAYROLL")

    def brent(self, interval: str = "monthly") -> pd.DataFrame:
        """Brent crude oil price."""
        return self.macro("BRENT", interval=interval)


def _compact(ts: datetime | None) -> str | None:
    """A datetime as the vendor's ``YYYYMMDDTHHMM`` in US/Eastern (its other timestamps' zone)."""
    if ts is None:
        return None
    if ts.tzinfo is None:
        raise DataError(f"{ts!r} has no timezone; pass an aware datetime")
    return ts.astimezone(EASTERN).strftime("%Y%m%dT%H%M")
