"""A fake Alpha Vantage, Yahoo and Questrade on one real HTTP server (127.0.0.1, a free port), with faults.

What it serves:

* RECORDED bodies from ../shared/data/api-recordings where a request matches one: Questrade ``v1/time``,
  ``v1/markets``, ``v1/accounts``; Alpha Vantage GLOBAL_QUOTE for MSFT and OVERVIEW for IBM; a Yahoo chart
  whose symbol, interval and period1/period2 equal a recording's request.
* HAND-MADE bodies, in the wire formats of market-apis.md and the vendor's documentation, for the Alpha
  Vantage functions no recording exists for (``side_bodies.py``): EARNINGS, INCOME_STATEMENT, BALANCE_SHEET
  and NEWS_SENTIMENT for symbols with shared bars, and the macro series (CPI, FEDERAL_FUNDS_RATE,
  TREASURY_YIELD, UNEMPLOYMENT, NONFARM_PAYROLL, WTI, BRENT). Their numbers are deterministic test values,
  not market data: they exist to exercise storage, point-in-time joins and training, never to judge a model.
* GENERATED bodies for every other symbol and range, in the recorded wire formats (the Yahoo ``meta`` block
  is copied from the recorded AAPL chart), filled with REAL unadjusted daily bars from
  ../shared/data/equity-us/1d (Yahoo also 1h bars from equity-us/1h) and the splits and dividends implied
  by its Lean factor files. Adjustments are
  relative to the fake's clock, like the vendors': Yahoo prices are split-adjusted to "now" with events and
  ``adjclose``; Alpha Vantage daily-adjusted rows carry the raw prices, ``adjusted close``, dividend and split
  coefficient. Symbols without shared bars are unknown (each vendor's own "bad symbol" answer).

Faults (``Fault``): per vendor, optionally per symbol, key or n-th request, a number of times: HTTP 429
(Alpha Vantage, Yahoo, Questrade with X-RateLimit-Reset), 503, an HTML outage page, a client timeout
(explicit by default: answered at once with ``X-Fake-Fault: timeout``, which ``FakeVendors.transport()``
raises as ``httpx.ReadTimeout``, so no test depends on the machine's speed; with ``timeout_sleep_s`` set, a
real sleep for clients that cannot take a transport), and Alpha Vantage's 200-with-notice throttles (burst,
daily cap, premium per-minute cap).

Budgets: Alpha Vantage keys given to ``FakeVendors(av_keys=...)`` are metered like the vendor does, on the
fake's clock (premium: per rolling minute; free: per New York day and one request a second). A request over
a budget is answered with the vendor's notice AND recorded in ``violations``, which a well-behaved client
never causes. Every request is logged (``log``) with vendor, symbol, key and the clock's time.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pandas as pd
import side_bodies

from papertrader.core.clock import Clock

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"
RECORDINGS = SHARED / "api-recordings"
BARS = SHARED / "equity-us"
NEW_YORK = ZoneInfo("America/New_York")

AV_BAD_CALL = (
    "Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for {f}."
)
AV_BURST = (
    "Thank you for using Alpha Vantage! Please consider spreading out your free API requests more sparingly "
    "(1 request per second). You may subscribe to any of the premium plans at https://www.alphavantage.co/premium/"
)
AV_DAILY_CAP = (
    "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. Please subscribe to "
    "any of the premium plans at https://www.alphavantage.co/premium/ to instantly remove all daily rate limits."
)
AV_MINUTE_CAP = (
    "Thank you for using Alpha Vantage! You have reached the {n} requests/min limit of your premium plan. "
    "Please contact premium@alphavantage.co if you are targeting a higher API call volume."
)


# --- real data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Events:
    """Splits (ex date, ratio) and dividends (ex date, raw amount) derived from a Lean factor file."""

    splits: tuple[tuple[pd.Timestamp, float], ...]
    dividends: tuple[tuple[pd.Timestamp, float], ...]


@cache
def daily_bars(symbol: str) -> pd.DataFrame | None:
    """Real unadjusted daily bars (date-indexed) or None when shared/data has none for the symbol."""
    path = BARS / "1d" / f"{symbol}.csv.gz"
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    frame["date"] = pd.to_datetime(frame["timestamp"].str[:10])
    return frame.set_index("date")[["open", "high", "low", "close", "volume"]]


@cache
def _factor_rows(symbol: str) -> pd.DataFrame:
    path = BARS / "factor_files" / f"{symbol}.csv"
    rows = pd.read_csv(path)
    rows["date"] = pd.to_datetime(rows["date"].astype(str), format="%Y%m%d")
    return rows


def factors(symbol: str, dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Per date, (price × split factor, split factor) of the first factor row dated on or after it."""
    rows = _factor_rows(symbol)
    idx = np.searchsorted(rows["date"].to_numpy(), dates.to_numpy(), side="left")
    idx = np.clip(idx, 0, len(rows) - 1)
    pf = rows["price_factor"].to_numpy()[idx]
    sf = rows["split_factor"].to_numpy()[idx]
    return pf * sf, sf


@cache
def events(symbol: str) -> Events:
    """Splits and dividends from the factor file's steps, effective the session after the row's date."""
    rows = _factor_rows(symbol)
    bars = daily_bars(symbol)
    assert bars is not None
    sessions = pd.DatetimeIndex(bars.index)
    dates = pd.DatetimeIndex(rows["date"])
    pf, sf, ref = (rows[c].to_numpy(dtype=float) for c in ("price_factor", "split_factor", "reference_price"))
    splits: list[tuple[pd.Timestamp, float]] = []
    dividends: list[tuple[pd.Timestamp, float]] = []
    for i in range(len(rows) - 1):
        later = sessions[sessions > dates[i]]
        if later.empty:
            continue
        ex = pd.Timestamp(later[0])
        if sf[i + 1] != sf[i]:
            splits.append((ex, float(sf[i + 1] / sf[i])))
        if pf[i + 1] != pf[i]:
            dividends.append((ex, float((1 - pf[i] / pf[i + 1]) * ref[i])))
    return Events(tuple(splits), tuple(dividends))


def relative_factors(symbol: str, dates: pd.DatetimeIndex, now: datetime) -> tuple[np.ndarray, np.ndarray]:
    """(total, split) factors relative to `now`: what a vendor's adjustment looked like at that moment."""
    today = pd.DatetimeIndex([pd.Timestamp(now.astimezone(NEW_YORK).date())])
    total, split = factors(symbol, dates)
    total_now, split_now = factors(symbol, today)
    return total / total_now[0], split / split_now[0]


def bars_until(symbol: str, now: datetime, since: str | None = None) -> pd.DataFrame | None:
    """The symbol's bars of sessions that closed by `now` (16:00 New York), from `since` (a date) if given."""
    bars = daily_bars(symbol)
    if bars is None:
        return None
    local = now.astimezone(NEW_YORK)
    last = pd.Timestamp(local.date()) if local.hour >= 16 else pd.Timestamp(local.date()) - pd.Timedelta(days=1)
    return bars.loc[since:last]


def _session_open(date: pd.Timestamp) -> int:
    return int(datetime(date.year, date.month, date.day, 9, 30, tzinfo=NEW_YORK).timestamp())


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


# --- wire formats ------------------------------------------------------------------------------------


def av_daily(
    symbol: str, now: datetime, *, adjusted: bool, compact: bool, since: str | None = None, label: str | None = None
) -> dict[str, Any]:
    """TIME_SERIES_DAILY(_ADJUSTED) body, newest first, values as strings."""
    bars = bars_until(symbol, now, since)
    assert bars is not None
    if compact:
        bars = bars.iloc[-100:]
    total, _ = relative_factors(symbol, pd.DatetimeIndex(bars.index), now)
    ev = events(symbol)
    splits = {d: r for d, r in ev.splits}
    divs = {d: a for d, a in ev.dividends}
    rev = bars.iloc[::-1]
    dates = pd.DatetimeIndex(rev.index).strftime("%Y-%m-%d").tolist()
    o, h, lo, c, v = (rev[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
    adj = rev["close"].to_numpy() * total[::-1]
    div = [divs.get(d, 0.0) for d in rev.index]
    spl = [splits.get(d, 1.0) for d in rev.index]
    series: dict[str, dict[str, str]] = {}
    for i, day in enumerate(dates):
        entry = {
            "1. open": f"{o[i]:.4f}",
            "2. high": f"{h[i]:.4f}",
            "3. low": f"{lo[i]:.4f}",
            "4. close": f"{c[i]:.4f}",
        }
        if adjusted:
            entry["5. adjusted close"] = f"{adj[i]:.4f}"
            entry["6. volume"] = str(int(v[i]))
            entry["7. dividend amount"] = f"{div[i]:.4f}"
            entry["8. split coefficient"] = f"{spl[i]:.1f}"
        else:
            entry["5. volume"] = str(int(v[i]))
        series[day] = entry
    info = (
        "Daily Time Series with Splits and Dividend Events"
        if adjusted
        else "Daily Prices (open, high, low, close) and Volumes"
    )
    return {
        "Meta Data": {
            "1. Information": info,
            "2. Symbol": label or symbol,
            "3. Last Refreshed": bars.index[-1].strftime("%Y-%m-%d") if len(bars) else "",
            "4. Output Size": "Compact" if compact else "Full size",
            "5. Time Zone": "US/Eastern",
        },
        "Time Series (Daily)": series,
    }


def av_global_quote(symbol: str, now: datetime, delayed: bool, label: str | None = None) -> dict[str, Any]:
    """GLOBAL_QUOTE: the recorded MSFT body, or one generated from the latest real bar before now."""
    recorded = RECORDINGS / "alphavantage" / "global_quote.json"
    if symbol == "MSFT" and recorded.is_file():
        return dict(_json(recorded))
    bars = bars_until(symbol, now)
    if bars is None or len(bars) < 2:
        return {"Global Quote": {}}
    last, prev = bars.iloc[-1], bars.iloc[-2]
    change = last.close - prev.close
    quote = {
        "01. symbol": label or symbol,
        "02. open": f"{last.open:.4f}",
        "03. high": f"{last.high:.4f}",
        "04. low": f"{last.low:.4f}",
        "05. price": f"{last.close:.4f}",
        "06. volume": str(int(last.volume)),
        "07. latest trading day": bars.index[-1].strftime("%Y-%m-%d"),
        "08. previous close": f"{prev.close:.4f}",
        "09. change": f"{change:.4f}",
        "10. change percent": f"{change / prev.close * 100:.4f}%",
    }
    return {"Global Quote - DATA DELAYED BY 15 MINUTES" if delayed else "Global Quote": quote}


@cache
def _yahoo_template() -> dict[str, Any]:
    path = RECORDINGS / "yahoo" / "chart-AAPL-2020-08-31-to-2020-11-07.json"
    meta: dict[str, Any] = _json(path)["response"]["bodyJson"]["chart"]["result"][0]["meta"]
    return meta


def yahoo_recorded(symbol: str, params: dict[str, str]) -> dict[str, Any] | None:
    """A recorded chart body whose request had this symbol, interval and period, if any."""
    for path in sorted((RECORDINGS / "yahoo").glob("chart-*.json")):
        wrapped = _json(path)
        query = {k: v[0] for k, v in parse_qs(urlparse(wrapped["request"]["url"]).query).items()}
        asked = unquote(urlparse(wrapped["request"]["url"]).path.rsplit("/", 1)[-1])
        if asked == symbol and all(query.get(k) == params.get(k) for k in ("interval", "period1", "period2")):
            body: dict[str, Any] = wrapped["response"]["bodyJson"]
            return body
    return None


def yahoo_chart(
    symbol: str, p1: int, p2: int, now: datetime, since: str | None = None, label: str | None = None
) -> dict[str, Any] | None:
    """A v8 chart body for daily bars in [p1, p2): split-adjusted OHLCV, adjclose, events; None: unknown."""
    bars = bars_until(symbol, now, since)
    if bars is None:
        return None
    opens = np.array([_session_open(d) for d in bars.index], dtype=np.int64)
    keep = (opens >= p1) & (opens < p2)
    bars, opens = bars.loc[keep], opens[keep]
    name = label or symbol
    meta = {**_yahoo_template(), "symbol": name, "longName": name, "shortName": name, "dataGranularity": "1d"}
    result: dict[str, Any] = {"meta": meta}
    if len(bars):
        total, split = relative_factors(symbol, pd.DatetimeIndex(bars.index), now)
        result["timestamp"] = opens.tolist()
        result["indicators"] = {
            "quote": [
                {
                    "open": (bars["open"] * split).round(4).tolist(),
                    "high": (bars["high"] * split).round(4).tolist(),
                    "low": (bars["low"] * split).round(4).tolist(),
                    "close": (bars["close"] * split).round(4).tolist(),
                    "volume": (bars["volume"] / split).round().astype("int64").tolist(),
                }
            ],
            "adjclose": [{"adjclose": (bars["close"] * total).round(6).tolist()}],
        }
        ev = events(symbol)
        today = pd.Timestamp(now.astimezone(NEW_YORK).date())
        _, split_all = relative_factors(symbol, pd.DatetimeIndex([d for d, _ in ev.dividends] or [today]), now)
        divs = {
            str(_session_open(d)): {"amount": round(a * s, 6), "date": _session_open(d)}
            for (d, a), s in zip(ev.dividends, split_all, strict=False)
            if p1 <= _session_open(d) < p2 and d <= today
        }
        splits = {
            str(_session_open(d)): {
                "date": _session_open(d),
                "numerator": r if r >= 1 else 1,
                "denominator": 1 if r >= 1 else 1 / r,
                "splitRatio": f"{r:g}:1" if r >= 1 else f"1:{1 / r:g}",
            }
            for d, r in ev.splits
            if p1 <= _session_open(d) < p2 and d <= today
        }
        result["events"] = {"dividends": divs, "splits": splits}
    else:
        result["indicators"] = {"quote": [{}]}
    return {"chart": {"result": [result], "error": None}}


@cache
def hourly_bars(symbol: str) -> pd.DataFrame | None:
    """Real unadjusted regular-hours 1h bars, indexed by bar start (UTC), or None without shared data.

    Lean labels the first bar of a session 09:00 although it covers 09:30-10:00: it is re-stamped 09:30.
    """
    path = BARS / "1h" / f"{symbol}.csv.gz"
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    local = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_convert(NEW_YORK)
    first = (local.dt.hour == 9) & (local.dt.minute == 0)
    frame["ts"] = local.where(~first, local + pd.Timedelta(minutes=30)).dt.tz_convert("UTC")
    return frame.set_index("ts")[["open", "high", "low", "close", "volume"]]


def yahoo_hourly(symbol: str, p1: int, p2: int, now: datetime, label: str | None = None) -> dict[str, Any] | None:
    """A v8 chart body of 1h bars starting in [p1, p2) before now: split-adjusted, no adjclose (as Yahoo)."""
    bars = hourly_bars(symbol)
    if bars is None:
        return None
    epoch = np.asarray(pd.DatetimeIndex(bars.index).asi8 // 1_000_000_000, dtype=np.int64)
    keep = (epoch >= p1) & (epoch < p2) & (epoch + 3600 <= int(now.timestamp()))
    bars, epoch = bars.loc[keep], epoch[keep]
    name = label or symbol
    meta = {**_yahoo_template(), "symbol": name, "longName": name, "shortName": name, "dataGranularity": "1h"}
    result: dict[str, Any] = {"meta": meta}
    if len(bars):
        days = pd.DatetimeIndex(pd.DatetimeIndex(bars.index).tz_convert(NEW_YORK).date)
        _, split = relative_factors(symbol, days, now)
        result["timestamp"] = epoch.tolist()
        result["indicators"] = {
            "quote": [
                {
                    "open": (bars["open"] * split).round(4).tolist(),
                    "high": (bars["high"] * split).round(4).tolist(),
                    "low": (bars["low"] * split).round(4).tolist(),
                    "close": (bars["close"] * split).round(4).tolist(),
                    "volume": (bars["volume"] / split).round().astype("int64").tolist(),
                }
            ]
        }
    else:
        result["indicators"] = {"quote": [{}]}
    return {"chart": {"result": [result], "error": None}}


def questrade_symbol_id(symbol: str) -> int:
    """A stable positive id per ticker."""
    return 10_000 + int(hashlib.sha256(symbol.encode()).hexdigest()[:6], 16)


def questrade_candles(
    symbol: str, start: datetime, end: datetime, now: datetime, since: str | None = None
) -> dict[str, Any]:
    """Daily candles whose session starts in [start, end], raw prices, ISO times with the New York offset."""
    bars = bars_until(symbol, now, since)
    assert bars is not None
    local = [datetime(d.year, d.month, d.day, tzinfo=NEW_YORK) for d in bars.index]
    o, h, lo, c, v = (bars[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
    out = [
        {
            "start": begin.isoformat(timespec="microseconds"),
            "end": (begin + timedelta(days=1)).isoformat(timespec="microseconds"),
            "low": float(lo[i]),
            "high": float(h[i]),
            "open": float(o[i]),
            "close": float(c[i]),
            "volume": int(v[i]),
            "VWAP": round(float(h[i] + lo[i] + c[i]) / 3, 4),
        }
        for i, begin in enumerate(local)
        if start <= begin <= end
    ]
    return {"candles": out}


# --- faults and log ----------------------------------------------------------------------------------


@dataclass
class Fault:
    """An injected failure: `action` for `vendor` requests that match, `times` times (None: always)."""

    vendor: str
    action: str  # "429" | "503" | "html" | "timeout" | "burst" | "daily_cap" | "minute_cap"
    symbol: str | None = None
    key: str | None = None
    nth: int | None = None
    times: int | None = 1

    def matches(self, vendor: str, symbol: str | None, key: str | None, n: int) -> bool:
        """Whether this fault applies to the n-th request (1-based) of the vendor."""
        return (
            self.vendor == vendor
            and (self.times is None or self.times > 0)
            and (self.symbol is None or self.symbol == symbol)
            and (self.key is None or self.key == key)
            and (self.nth is None or self.nth == n)
        )


TIMEOUT_HEADER = "X-Fake-Fault"


class SignalledTimeouts(httpx.BaseTransport):
    """Raises what a client sees when the server never answers, without waiting for a clock to run out."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Forward the request; turn the fake's timeout marker into the exception a real timeout raises."""
        response = self.inner.handle_request(request)
        if response.headers.get(TIMEOUT_HEADER) == "timeout":
            response.close()
            raise httpx.ReadTimeout("timed out (fake vendor fault)", request=request)
        return response

    def close(self) -> None:
        """Close the wrapped transport's pool."""
        self.inner.close()


@dataclass(frozen=True)
class Logged:
    """One request as the server saw it."""

    vendor: str
    path: str
    symbol: str | None
    key: str | None
    at: datetime
    answer: str


@dataclass
class FakeVendors:
    """The server. Use as a context manager; `url` is its base, the vendor URLs hang off it."""

    clock: Clock
    av_keys: dict[str, tuple[str, int]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    #: None: a timeout fault is signalled to `transport()` (no wall clock); a number: the server really sleeps.
    timeout_sleep_s: float | None = None
    #: Seconds every answer waits before it is sent: a loaded machine, made explicit (0: answer at once).
    latency_s: float = 0.0
    #: First date of history the fake vendors hold (None: all of shared/data, from 1998): keeps bodies small.
    history_start: str | None = "2019-01-01"
    #: Extra symbols served with a shared symbol's real bars (symbol -> shared symbol), for large universes.
    aliases: dict[str, str] = field(default_factory=dict)
    questrade_refresh: str = "BOOTSTRAP-refresh-token-1"
    log: list[Logged] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._av_sent: dict[str, list[datetime]] = {}
        self._qt_valid_refresh = {self.questrade_refresh}
        self._qt_access: str | None = None
        self._qt_issued = 0
        self._server: ThreadingHTTPServer | None = None
        for symbol in _shared_symbols():  # load the data before the first request, so no answer is slow
            events(symbol)
            _yahoo_template()

    # -- lifecycle --

    def __enter__(self) -> FakeVendors:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def av_url(self) -> str:
        """PAPERTRADER_ALPHAVANTAGE_URL."""
        return self.url + "/av/query"

    @property
    def yahoo_url(self) -> str:
        """PAPERTRADER_YAHOO_URL."""
        return self.url + "/yahoo/v8/finance/chart/"

    @property
    def questrade_login_url(self) -> str:
        """PAPERTRADER_QUESTRADE_LOGIN_URL."""
        return self.url + "/qt"

    def env(self) -> dict[str, str]:
        """The URL settings that point the three clients here."""
        return {
            "PAPERTRADER_ALPHAVANTAGE_URL": self.av_url,
            "PAPERTRADER_YAHOO_URL": self.yahoo_url,
            "PAPERTRADER_QUESTRADE_LOGIN_URL": self.questrade_login_url,
        }

    def transport(self) -> httpx.BaseTransport:
        """The clients' HTTP transport: real sockets, with a signalled timeout fault raised as httpx.ReadTimeout."""
        return SignalledTimeouts(httpx.HTTPTransport())

    # -- counting --

    def requests(self, vendor: str | None = None, symbol: str | None = None) -> list[Logged]:
        """Logged requests, optionally of one vendor and/or symbol."""
        with self._lock:
            return [
                r for r in self.log if (vendor is None or r.vendor == vendor) and (symbol is None or r.symbol == symbol)
            ]

    def max_per_window(self, key: str, window: timedelta) -> int:
        """The most requests the key sent within any window of this length (on the fake's clock)."""
        with self._lock:
            times = sorted(self._av_sent.get(key, []))
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while times[lo] <= t - window:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def max_per_day(self, key: str) -> int:
        """The most requests the key sent in one New York day."""
        with self._lock:
            days = [t.astimezone(NEW_YORK).date() for t in self._av_sent.get(key, [])]
        return max((days.count(d) for d in set(days)), default=0)

    # -- handling --

    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urlparse(req.path)
        params = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        length = int(req.headers.get("content-length") or 0)
        body = req.rfile.read(length) if length else b""
        path = parsed.path
        if path.startswith("/av/"):
            vendor, symbol, key = "alphavantage", params.get("symbol"), params.get("apikey")
        elif path.startswith("/yahoo/"):
            vendor, symbol, key = "yahoo", unquote(path.rsplit("/", 1)[-1]), None
        elif path.startswith("/qt"):
            vendor, key = "questrade", (req.headers.get("authorization") or "").removeprefix("Bearer ") or None
            symbol = params.get("prefix") or self._qt_symbol(path)
        else:
            self._send(req, 404, b"not found", "text/plain")
            return
        now = self.clock.now()
        with self._lock:
            n = self._counts[vendor] = self._counts.get(vendor, 0) + 1
            fault = next((f for f in self.faults if f.matches(vendor, symbol, key, n)), None)
            if fault is not None and fault.times is not None:
                fault.times -= 1
        with self._lock:  # logged on arrival, so a request still being answered is already counted
            self.log.append(Logged(vendor, path, symbol, key, now, "fault:" + fault.action if fault else "ok"))
        if self.latency_s:
            time.sleep(self.latency_s)
        if fault is not None and fault.action == "timeout" and self.timeout_sleep_s is None:
            status, payload, ctype, headers = 504, b"timeout", "text/plain", {TIMEOUT_HEADER: "timeout"}
        elif fault is not None and fault.action != "timeout":
            status, payload, ctype, headers = self._fault(vendor, fault.action, now)
        else:
            if fault is not None and self.timeout_sleep_s is not None:
                time.sleep(self.timeout_sleep_s)
            if vendor == "alphavantage":
                status, payload, ctype, headers = self._av(params, key, now)
            elif vendor == "yahoo":
                status, payload, ctype, headers = self._yahoo(symbol or "", params, now)
            else:
                status, payload, ctype, headers = self._questrade(method, path, params, body, key, now)
        self._send(req, status, payload, ctype, headers)

    @staticmethod
    def _send(
        req: BaseHTTPRequestHandler, status: int, payload: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        try:
            req.send_response(status)
            req.send_header("content-type", ctype)
            req.send_header("content-length", str(len(payload)))
            for k, v in (headers or {}).items():
                req.send_header(k, v)
            req.end_headers()
            req.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass

    @staticmethod
    def _jsonb(body: Any) -> bytes:
        return json.dumps(body).encode()

    def _fault(self, vendor: str, action: str, now: datetime) -> tuple[int, bytes, str, dict[str, str]]:
        j = "application/json"
        if action == "429":
            if vendor == "questrade":
                reset = str(int(now.timestamp()) + 1)
                return (
                    429,
                    self._jsonb({"code": 1006, "message": "Rate limit exceeded"}),
                    j,
                    {"X-RateLimit-Reset": reset},
                )
            return 429, b"Too Many Requests", "text/plain", {"retry-after": "1"}
        if action == "503":
            return 503, b"Service Unavailable", "text/plain", {}
        if action == "html":
            return 200, b"<html><body>Will be right back...</body></html>", "text/html", {}
        notices = {"burst": AV_BURST, "daily_cap": AV_DAILY_CAP, "minute_cap": AV_MINUTE_CAP.format(n=75)}
        return 200, self._jsonb({"Information": notices[action]}), j, {}

    # -- Alpha Vantage --

    def _av_budget(self, key: str | None, now: datetime) -> str | None:
        """Meter the key like the vendor; the notice to answer when it is over its budget (and log it)."""
        if key is None or key not in self.av_keys:
            return None
        tier, budget = self.av_keys[key]
        with self._lock:
            sent = self._av_sent.setdefault(key, [])
            notice = None
            if tier == "premium":
                if sum(1 for t in sent if t > now - timedelta(minutes=1)) >= budget:
                    notice = AV_MINUTE_CAP.format(n=budget)
            else:
                day = now.astimezone(NEW_YORK).date()
                if sum(1 for t in sent if t.astimezone(NEW_YORK).date() == day) >= budget:
                    notice = AV_DAILY_CAP
                elif sent and now - sent[-1] < timedelta(seconds=1):
                    notice = AV_BURST
            sent.append(now)
            if notice is not None:
                self.violations.append(f"{key} at {now.isoformat()}: {notice[:60]}")
        return notice

    def _data(self, symbol: str) -> str:
        """The shared symbol whose bars answer for `symbol`."""
        return self.aliases.get(symbol, symbol)

    def known(self) -> tuple[str, ...]:
        """Every symbol the fake serves: the shared ones and the aliases."""
        return (*_shared_symbols(), *sorted(self.aliases))

    def _av(self, params: dict[str, str], key: str | None, now: datetime) -> tuple[int, bytes, str, dict[str, str]]:
        j = "application/json"
        notice = self._av_budget(key, now)
        if notice is not None:
            return 200, self._jsonb({"Information": notice}), j, {}
        function = params.get("function", "")
        symbol = params.get("symbol", "")
        data = self._data(symbol)
        if function in ("TIME_SERIES_DAILY", "TIME_SERIES_DAILY_ADJUSTED") and daily_bars(data) is not None:
            compact = params.get("outputsize", "compact") != "full"
            adjusted = function.endswith("ADJUSTED")
            body = av_daily(data, now, adjusted=adjusted, compact=compact, since=self.history_start, label=symbol)
            return 200, self._jsonb(body), j, {}
        if function == "GLOBAL_QUOTE":
            body = av_global_quote(data, now, params.get("entitlement") == "delayed", label=symbol)
            return 200, self._jsonb(body), j, {}
        if function == "OVERVIEW":
            recorded = RECORDINGS / "alphavantage" / "mock_company_overview.json"
            body = _json(recorded) if symbol == "IBM" and recorded.is_file() else {}
            return 200, self._jsonb(body), j, {}
        side = side_bodies.answer(function, params, now, known=daily_bars(data) is not None, symbol=symbol)
        if side is not None:
            return 200, self._jsonb(side), j, {}
        return 200, self._jsonb({"Error Message": AV_BAD_CALL.format(f=function)}), j, {}

    # -- Yahoo --

    def _yahoo(self, symbol: str, params: dict[str, str], now: datetime) -> tuple[int, bytes, str, dict[str, str]]:
        j = "application/json;charset=utf-8"
        recorded = yahoo_recorded(symbol, params)
        if recorded is not None:
            return 200, self._jsonb(recorded), j, {}
        p1, p2 = int(params["period1"]), int(params["period2"])
        if params.get("interval") in ("1h", "60m"):
            body = yahoo_hourly(self._data(symbol), p1, p2, now, label=symbol)
        elif params.get("interval") == "1d":
            body = yahoo_chart(self._data(symbol), p1, p2, now, self.history_start, label=symbol)
        else:
            error = {"code": "Unprocessable Entity", "description": "the fake serves 1d and 1h bars only"}
            return 422, self._jsonb({"chart": {"result": None, "error": error}}), j, {}
        if body is None:
            error = {"code": "Not Found", "description": "No data found, symbol may be delisted"}
            return 404, self._jsonb({"chart": {"result": None, "error": error}}), j, {}
        return 200, self._jsonb(body), j, {}

    # -- Questrade --

    def _qt_symbol(self, path: str) -> str | None:
        if "/markets/candles/" in path:
            sid = int(path.rsplit("/", 1)[-1])
            return next((s for s in self.known() if questrade_symbol_id(s) == sid), None)
        return None

    def _questrade(
        self, method: str, path: str, params: dict[str, str], body: bytes, token: str | None, now: datetime
    ) -> tuple[int, bytes, str, dict[str, str]]:
        j = "application/json"
        if path == "/qt/oauth2/token" and method == "POST":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            with self._lock:
                if form.get("refresh_token") not in self._qt_valid_refresh:
                    return 400, b"Bad Request", "text/plain", {}
                self._qt_valid_refresh.discard(form["refresh_token"])
                self._qt_issued += 1
                new_refresh = f"refresh-{self._qt_issued}"
                self._qt_valid_refresh.add(new_refresh)
                self._qt_access = f"access-{self._qt_issued}"
            answer = {
                "access_token": self._qt_access,
                "token_type": "Bearer",
                "expires_in": 1800,
                "refresh_token": new_refresh,
                "api_server": self.url + "/qt/api/",
            }
            return 200, self._jsonb(answer), j, {}
        if token is None or token != self._qt_access:
            return 401, self._jsonb({"code": 1017, "message": "Access token is invalid"}), j, {}
        endpoint = path.removeprefix("/qt/api/")
        recorded = {"v1/time": "time.json", "v1/markets": "markets.json", "v1/accounts": "accounts.json"}
        if endpoint in recorded:
            return 200, (RECORDINGS / "questrade" / recorded[endpoint]).read_bytes(), j, {}
        if endpoint == "v1/symbols/search":
            prefix = params.get("prefix", "").upper()
            hits = [
                {
                    "symbol": s,
                    "symbolId": questrade_symbol_id(s),
                    "description": s,
                    "securityType": "Stock",
                    "listingExchange": "NYSE",
                    "isTradable": True,
                    "isQuotable": True,
                    "currency": "USD",
                }
                for s in self.known()
                if s.startswith(prefix)
            ]
            return 200, self._jsonb({"symbols": hits}), j, {}
        if endpoint.startswith("v1/markets/candles/"):
            symbol = self._qt_symbol(path)
            if symbol is None:
                return 404, self._jsonb({"code": 1019, "message": "Symbol not found"}), j, {}
            start = datetime.fromisoformat(params["startTime"])
            end = datetime.fromisoformat(params["endTime"])
            candles = questrade_candles(self._data(symbol), start, end, now, self.history_start)
            return 200, self._jsonb(candles), j, {}
        return 404, self._jsonb({"code": 1001, "message": "Invalid endpoint"}), j, {}


@cache
def _shared_symbols() -> tuple[str, ...]:
    return tuple(sorted(p.name.removesuffix(".csv.gz") for p in (BARS / "1d").glob("*.csv.gz")))


def shared_symbols() -> tuple[str, ...]:
    """Symbols with real daily bars (the ones the fake knows)."""
    return _shared_symbols()
