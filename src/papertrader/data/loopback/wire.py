"""Bars and vendor faults in the vendors' own wire formats: Yahoo's v8 chart and Alpha Vantage's intraday series.

The loopback vendor (server.py) answers with these bodies, so a client talking to it runs its real parsing
and error classification. The shapes follow the vendors' documented formats: a Yahoo chart result with
``meta`` / ``timestamp`` / ``indicators.quote`` (daily bars add ``adjclose``), epoch-second bar starts; an
Alpha Vantage ``Meta Data`` plus ``Time Series (1min)`` map, newest first, naive US/Eastern start labels,
every value a string. Faults arrive as each vendor sends them: Yahoo's plain-text 429 and 5xx, Alpha
Vantage's HTTP 200 throttle notices (the premium per-minute ``Information`` and the pre-2024 ``Note``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from papertrader.core.arrays import FloatArray, IntArray

NEW_YORK: Final = ZoneInfo("America/New_York")
YAHOO_JSON: Final = "application/json;charset=utf-8"
AV_JSON: Final = "application/json"
#: the project's intraday intervals in seconds, and Alpha Vantage's spelling of them
INTERVAL_SECONDS: Final = {"1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600}
AV_SPELLING: Final = {"1m": "1min", "5m": "5min", "15m": "15min", "30m": "30min", "1h": "60min"}
YAHOO_SPELLING: Final = {"1m": "1m", "5m": "5m", "15m": "15m", "30m": "30m", "1h": "1h"}

AV_MINUTE_CAP: Final = (
    "Thank you for using Alpha Vantage! You have reached the 75 requests/min limit of your premium plan. "
    "Please contact premium@alphavantage.co if you are targeting a higher API call volume."
)
AV_NOTE: Final = (
    "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per "
    "day. Please visit https://www.alphavantage.co/premium/ if you would like to target a higher API call frequency."
)
AV_BAD_CALL: Final = (
    "Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for {f}."
)
AV_BAD_KEY: Final = (
    "the parameter apikey is invalid or missing. Please claim your free API key on "
    "(https://www.alphavantage.co/support/#api-key)."
)


class Fault(StrEnum):
    """What a vendor does instead of answering, in its own shape (see `fault_reply`)."""

    #: Yahoo HTTP 429 (plain text); Alpha Vantage HTTP 200 + the premium per-minute ``Information`` notice
    THROTTLE = "throttle"
    #: Yahoo HTTP 429; Alpha Vantage HTTP 200 + the pre-2024 ``Note`` (which clients read as a daily cap)
    NOTE = "note"
    #: HTTP 503 from either vendor
    SERVER_ERROR = "5xx"
    #: no answer until the client has given up (the server holds the request)
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status, body, content type and extra headers."""

    status: int
    body: bytes
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Series:
    """One symbol's bars as arrays, oldest first: bar starts in epoch seconds, their New York session (days since
    1970-01-01) and the OHLCV values."""

    start: IntArray
    day: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        """Number of bars."""
        return int(self.start.shape[0])

    def take(self, keep: slice | IntArray) -> Series:
        """The bars at `keep` (a slice or index array)."""
        return Series(
            self.start[keep],
            self.day[keep],
            self.open[keep],
            self.high[keep],
            self.low[keep],
            self.close[keep],
            self.volume[keep],
        )


def series_by_symbol(bars: pd.DataFrame) -> dict[str, Series]:
    """Split a long bar frame (lake columns: symbol, ts = bar start, OHLCV) into per-symbol arrays."""
    frame = bars.assign(ts=pd.to_datetime(bars["ts"], utc=True)).sort_values(["symbol", "ts"], kind="mergesort")
    out: dict[str, Series] = {}
    for symbol, rows in frame.groupby("symbol", sort=True):
        local = rows["ts"].dt.tz_convert(NEW_YORK).dt.tz_localize(None).dt.normalize()
        out[str(symbol)] = Series(
            (rows["ts"].astype("int64").to_numpy() // 1_000_000_000).astype(np.int64),
            (local.astype("int64").to_numpy() // 86_400_000_000_000).astype(np.int64),
            *(rows[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")),
        )
    return out


def between(series: Series, lo: int, hi: int, closed_by: int, length_s: int) -> Series:
    """The bars starting in [lo, hi) that have closed (start + length <= closed_by), all epoch seconds."""
    first = int(np.searchsorted(series.start, lo, side="left"))
    last = int(np.searchsorted(series.start, min(hi, closed_by - length_s + 1), side="left"))
    return series.take(slice(first, max(first, last)))


def sessions(series: Series) -> Series:
    """Daily bars of the intraday bars, one per New York session, stamped at its first bar's start."""
    if not len(series):
        return series
    cut = np.flatnonzero(np.diff(series.day)) + 1
    first = np.concatenate(([0], cut))
    last = np.concatenate((cut, [len(series)])) - 1
    return Series(
        series.start[first],
        series.day[first],
        series.open[first],
        np.maximum.reduceat(series.high, first),
        np.minimum.reduceat(series.low, first),
        series.close[last],
        np.add.reduceat(series.volume, first),
    )


def _numbers(values: FloatArray) -> list[Any]:
    """JSON numbers (ints where the values are whole, as the vendors send volumes)."""
    if len(values) and np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        return [int(v) for v in values]
    return [None if not np.isfinite(v) else float(v) for v in values]


def _body(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def yahoo_chart(symbol: str, series: Series, granularity: str) -> Reply:
    """A v8 chart answer for these bars; an empty range has no ``timestamp`` and ``quote: [{}]`` (as Yahoo)."""
    meta = {
        "currency": "USD",
        "symbol": symbol,
        "exchangeName": "NYQ",
        "instrumentType": "EQUITY",
        "gmtoffset": -18000,
        "timezone": "EST",
        "exchangeTimezoneName": "America/New_York",
        "dataGranularity": granularity,
        "range": "",
    }
    result: dict[str, Any] = {"meta": meta}
    if len(series):
        result["timestamp"] = [int(t) for t in series.start]
        quote = {
            name: _numbers(getattr(series, name)) if name == "volume" else [float(v) for v in getattr(series, name)]
            for name in ("open", "high", "low", "close", "volume")
        }
        result["indicators"] = {"quote": [quote]}
        if granularity == "1d":
            result["indicators"]["adjclose"] = [{"adjclose": [float(v) for v in series.close]}]
    else:
        result["indicators"] = {"quote": [{}]}
    return Reply(200, _body({"chart": {"result": [result], "error": None}}), YAHOO_JSON)


def yahoo_error(status: int, code: str, description: str) -> Reply:
    """Yahoo's chart error object (404 unknown symbol, 422/400 refused range or interval)."""
    return Reply(
        status, _body({"chart": {"result": None, "error": {"code": code, "description": description}}}), YAHOO_JSON
    )


def _av_value(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else f"{value:.4f}"


def av_intraday(symbol: str, series: Series, interval: str, outputsize: str) -> Reply:
    """A TIME_SERIES_INTRADAY answer: naive US/Eastern start labels, newest first, every value a string."""
    av = AV_SPELLING[interval]
    local = pd.DatetimeIndex(pd.to_datetime(series.start, unit="s", utc=True)).tz_convert(NEW_YORK)
    labels = local.strftime("%Y-%m-%d %H:%M:%S")
    rows: dict[str, dict[str, str]] = {}
    for i in range(len(series) - 1, -1, -1):
        rows[str(labels[i])] = {
            "1. open": _av_value(series.open[i]),
            "2. high": _av_value(series.high[i]),
            "3. low": _av_value(series.low[i]),
            "4. close": _av_value(series.close[i]),
            "5. volume": str(int(series.volume[i])) if float(series.volume[i]).is_integer() else repr(series.volume[i]),
        }
    meta = {
        "1. Information": f"Intraday ({av}) open, high, low, close prices and volume",
        "2. Symbol": symbol,
        "3. Last Refreshed": str(labels[-1]) if len(labels) else "",
        "4. Interval": av,
        "5. Output Size": "Full size" if outputsize == "full" else "Compact",
        "6. Time Zone": "US/Eastern",
    }
    return Reply(200, _body({"Meta Data": meta, f"Time Series ({av})": rows}), AV_JSON)


def av_error(message: str) -> Reply:
    """Alpha Vantage's error answer: HTTP 200 with an ``Error Message`` body."""
    return Reply(200, _body({"Error Message": message}), AV_JSON)


def fault_reply(vendor: str, fault: Fault) -> Reply:
    """What `vendor` ("yahoo" or "alphavantage") sends for `fault` (TIMEOUT: what it sends once it is too late)."""
    if fault is Fault.SERVER_ERROR:
        return Reply(503, b"Service Unavailable", "text/plain")
    if fault is Fault.TIMEOUT:
        return Reply(504, b"Gateway Timeout", "text/plain")
    if vendor == "alphavantage":
        key = "Note" if fault is Fault.NOTE else "Information"
        return Reply(200, _body({key: AV_NOTE if fault is Fault.NOTE else AV_MINUTE_CAP}), AV_JSON)
    return Reply(429, b"Too Many Requests", "text/plain")
