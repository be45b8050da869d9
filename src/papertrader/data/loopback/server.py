"""A loopback fake vendor: Yahoo's chart and Alpha Vantage's intraday endpoints over recorded bars, on a clock.

`LoopbackVendor` is a real HTTP server on 127.0.0.1 (port 0: the OS picks a free one) that the real adapters
talk to through httpx, pointed at it by their URL settings (`env()`: ``PAPERTRADER_YAHOO_URL``,
``PAPERTRADER_ALPHAVANTAGE_URL``). It serves the bars it was given, and only those that have closed by its
`now`: the injected clock's time, or the time a driver posts to ``POST /control`` (a process of its own
reads the simulated clock that way). It never answers a bar that has not closed.

Routes: ``GET /yahoo/v8/finance/chart/{SYMBOL}?interval&period1&period2`` (the bars' own interval, or ``1d``
sessions built from them); ``GET /av/query?function=TIME_SERIES_INTRADAY&symbol&interval&apikey`` (the
trailing 30 days, or ``month=YYYY-MM``; ``outputsize=compact`` keeps 100 bars; ``entitlement=delayed`` stops
15 minutes before now, as the vendor's delayed feed does); ``POST /control`` with JSON ``{"now": ISO,
"faults": {SYMBOL: FAULT}, "vendors": [...]}``; ``GET /control`` the request counts.

Faults (wire.Fault) are set per symbol, for every vendor or the named ones, and last until replaced:
THROTTLE, NOTE and SERVER_ERROR answer at once in the vendor's shape; TIMEOUT holds the request until
`release()`, new faults, or `hold_s` seconds (the client's own read timeout, from its settings, ends it first).
Used by `benchmarks/live_soak.py` and the integration tests; a user can run it for a drill of their own
(`python -m papertrader.data.loopback BARS.csv INTERVAL`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Final
from urllib.parse import parse_qs, unquote, urlparse

import pandas as pd

from papertrader.core.clock import Clock
from papertrader.core.errors import ConfigError
from papertrader.data.loopback.wire import (
    AV_BAD_CALL,
    AV_BAD_KEY,
    AV_SPELLING,
    INTERVAL_SECONDS,
    NEW_YORK,
    YAHOO_SPELLING,
    Fault,
    Reply,
    av_error,
    av_intraday,
    between,
    fault_reply,
    series_by_symbol,
    sessions,
    yahoo_chart,
    yahoo_error,
)

log = logging.getLogger(__name__)

VENDORS: Final = ("yahoo", "alphavantage")
#: how far back Alpha Vantage's "recent" intraday answer reaches, and its compact size
AV_TRAILING: Final = timedelta(days=30)
AV_COMPACT_BARS: Final = 100
AV_DELAY: Final = timedelta(minutes=15)
_DAY_S: Final = 86_400
_FAR: Final = 2**40


def client_env(url: str) -> dict[str, str]:
    """The URL settings that point papertrader's Yahoo and Alpha Vantage clients at a loopback vendor at `url`."""
    root = url.rstrip("/")
    return {
        "PAPERTRADER_YAHOO_URL": f"{root}/yahoo/v8/finance/chart/",
        "PAPERTRADER_ALPHAVANTAGE_URL": f"{root}/av/query",
    }


class LoopbackVendor:
    """Serves recorded bars in Yahoo's and Alpha Vantage's wire formats on 127.0.0.1, gated by a clock."""

    def __init__(
        self,
        bars: pd.DataFrame,
        interval: str,
        *,
        clock: Clock | None = None,
        now: datetime | None = None,
        hold_s: float = 30.0,
    ) -> None:
        if interval not in INTERVAL_SECONDS:
            raise ConfigError(
                f"the loopback vendor serves intraday bars ({', '.join(INTERVAL_SECONDS)}), not {interval}"
            )
        self.interval = interval
        self.length_s = INTERVAL_SECONDS[interval]
        self.series = series_by_symbol(bars)
        self.clock = clock
        self.hold_s = hold_s
        self._now = now
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}
        self._fault_vendors: frozenset[str] = frozenset(VENDORS)
        self._released = threading.Event()
        self.counts: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LoopbackVendor:
        """Bind 127.0.0.1 on a free port and serve on a daemon thread."""
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the vendors: httpx reuses its connection
            disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart (delayed ACK)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the vendor logs nothing per request."""

            def do_GET(self) -> None:
                vendor._answer(self, vendor._get(self))

            def do_POST(self) -> None:
                vendor._answer(self, vendor._post(self))

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="loopback-vendor", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Answer every held request and stop serving."""
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LoopbackVendor:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- where clients point ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's root URL."""
        if self._server is None:
            raise ConfigError("the loopback vendor is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def yahoo_url(self) -> str:
        """The chart base URL a Yahoo client appends symbols to."""
        return client_env(self.url)["PAPERTRADER_YAHOO_URL"]

    @property
    def av_url(self) -> str:
        """The Alpha Vantage query endpoint."""
        return client_env(self.url)["PAPERTRADER_ALPHAVANTAGE_URL"]

    def env(self) -> dict[str, str]:
        """The settings that point the Yahoo and Alpha Vantage clients here."""
        return client_env(self.url)

    # ---- what the driver controls ----------------------------------------------------------------

    def now(self) -> datetime:
        """The time the vendor answers as of: its clock's, or the last one posted."""
        if self.clock is not None:
            return self.clock.now()
        with self._lock:
            if self._now is None:
                raise ConfigError("the loopback vendor has no clock and no time was posted to /control")
            return self._now

    def set_now(self, now: datetime) -> None:
        """Answer as of `now` from here on (for a vendor without a clock of its own)."""
        if now.tzinfo is None:
            raise ConfigError("the loopback vendor's time must be timezone-aware")
        with self._lock:
            self._now = now.astimezone(UTC)

    def set_faults(self, faults: Mapping[str, Fault], vendors: Iterable[str] = VENDORS) -> None:
        """Replace the faults: each symbol's fault, answered by the named vendors (the others serve data)."""
        chosen = frozenset(vendors)
        if not chosen <= set(VENDORS):
            raise ConfigError(f"unknown vendor in {sorted(chosen)}: the loopback vendor serves {', '.join(VENDORS)}")
        with self._lock:
            self._faults = {str(s): Fault(f) for s, f in faults.items()}
            self._fault_vendors = chosen
            held, self._released = self._released, threading.Event()
        held.set()  # requests held under the old faults finish now

    def release(self) -> None:
        """Let every held (TIMEOUT) request finish now."""
        with self._lock:
            held = self._released
        held.set()

    # ---- answering -------------------------------------------------------------------------------

    def _answer(self, req: BaseHTTPRequestHandler, reply: Reply) -> None:
        try:
            req.send_response(reply.status)
            req.send_header("Content-Type", reply.content_type)
            req.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                req.send_header(name, value)
            req.end_headers()
            req.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout) and left
            req.close_connection = True

    def _fault(self, vendor: str, symbol: str) -> tuple[Fault | None, threading.Event]:
        with self._lock:
            return (self._faults.get(symbol) if vendor in self._fault_vendors else None), self._released

    def _get(self, req: BaseHTTPRequestHandler) -> Reply:
        parsed = urlparse(req.path)
        params = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        path = parsed.path
        if path == "/control":
            with self._lock:
                counts = dict(self.counts)
            return Reply(200, json.dumps({"requests": counts}).encode(), "application/json")
        if path.startswith("/yahoo/v8/finance/chart/"):
            vendor, symbol = "yahoo", unquote(path.rsplit("/", 1)[-1])
        elif path == "/av/query":
            vendor, symbol = "alphavantage", params.get("symbol", "")
        else:
            return Reply(404, b"not found", "text/plain")
        with self._lock:
            self.counts[vendor] += 1
        fault, released = self._fault(vendor, symbol)
        if fault is Fault.TIMEOUT:
            released.wait(self.hold_s)  # the client's read timeout ends the request first
            return fault_reply(vendor, fault)
        if fault is not None:
            return fault_reply(vendor, fault)
        try:
            now = int(self.now().timestamp())
        except ConfigError as exc:
            return Reply(503, str(exc).encode(), "text/plain")
        if vendor == "yahoo":
            return self._yahoo(symbol, params, now)
        return self._av(symbol, params, now)

    def _post(self, req: BaseHTTPRequestHandler) -> Reply:
        if urlparse(req.path).path != "/control":
            return Reply(404, b"not found", "text/plain")
        length = int(req.headers.get("content-length") or 0)
        try:
            body = json.loads(req.rfile.read(length) or b"{}")
            if "now" in body:
                self.set_now(datetime.fromisoformat(str(body["now"])))
            if "faults" in body:
                self.set_faults(
                    {str(s): Fault(f) for s, f in dict(body["faults"]).items()}, body.get("vendors", VENDORS)
                )
        except (ValueError, TypeError, ConfigError) as exc:
            return Reply(400, f"bad control request: {exc}".encode(), "text/plain")
        return Reply(204, b"", "text/plain")

    def _yahoo(self, symbol: str, params: Mapping[str, str], now: int) -> Reply:
        series = self.series.get(symbol)
        if series is None:
            return yahoo_error(404, "Not Found", "No data found, symbol may be delisted")
        interval = params.get("interval", "")
        try:
            lo, hi = int(params["period1"]), int(params["period2"])
        except (KeyError, ValueError):
            return yahoo_error(400, "Bad Request", "period1 and period2 must be epoch seconds")
        if interval == "1d":
            closed = between(series, lo - _DAY_S, _FAR, now, self.length_s)  # a session started before lo: cut off
            daily = sessions(closed)
            return yahoo_chart(symbol, between(daily, lo, hi, _FAR, 0), "1d")
        if interval != YAHOO_SPELLING[self.interval]:
            return yahoo_error(422, "Unprocessable Entity", f"the loopback vendor serves {self.interval} and 1d bars")
        return yahoo_chart(symbol, between(series, lo, hi, now, self.length_s), interval)

    def _av(self, symbol: str, params: Mapping[str, str], now: int) -> Reply:
        if not params.get("apikey"):
            return av_error(AV_BAD_KEY)
        function = params.get("function", "")
        series = self.series.get(symbol)
        if function != "TIME_SERIES_INTRADAY" or series is None or params.get("interval") != AV_SPELLING[self.interval]:
            return av_error(AV_BAD_CALL.format(f=function or "your request"))
        month = params.get("month")
        if params.get("entitlement") == "delayed":
            now -= int(AV_DELAY.total_seconds())
        if month:
            try:
                first = pd.Timestamp(f"{month}-01", tz=NEW_YORK)
            except ValueError:
                return av_error(AV_BAD_CALL.format(f=function))
            lo, hi = int(first.timestamp()), int((first + pd.offsets.MonthBegin(1)).timestamp())
        else:
            lo, hi = now - int(AV_TRAILING.total_seconds()), _FAR
        served = between(series, lo, hi, now, self.length_s)
        outputsize = params.get("outputsize", "compact")
        if outputsize != "full" and len(served) > AV_COMPACT_BARS:
            served = served.take(slice(len(served) - AV_COMPACT_BARS, len(served)))
        return av_intraday(symbol, served, self.interval, outputsize)


class RemoteControl:
    """Drives a loopback vendor in another process: the time (and the faults) it answers with (`POST /control`)."""

    def __init__(self, url: str) -> None:
        import httpx

        self.url = url.rstrip("/") + "/control"
        self._http = httpx.Client(timeout=30.0)

    def set(self, now: datetime, faults: Mapping[str, Fault] | None = None, vendors: Iterable[str] = VENDORS) -> None:
        """Answer as of `now` from here on, with these faults (None: keep the current ones)."""
        body: dict[str, object] = {"now": now.isoformat()}
        if faults is not None:
            body["faults"] = {s: Fault(f).value for s, f in faults.items()}
            body["vendors"] = list(vendors)
        response = self._http.post(self.url, json=body)
        if response.status_code != 204:
            raise ConfigError(
                f"the loopback vendor refused the control request: {response.status_code} {response.text[:200]}"
            )

    def close(self) -> None:
        """Release the connection."""
        self._http.close()


def serve_forever(vendor: LoopbackVendor, announce: Callable[[str], None]) -> None:
    """Start the vendor, announce its URL (a driver reads it) and serve until interrupted."""
    vendor.start()
    announce(vendor.url)
    stop = threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        vendor.close()
