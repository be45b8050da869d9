"""The Yahoo v8 chart client: one GET per call, with timeouts, retries and every failure classified.

Transport problems become project errors here: timeouts and network failures are TemporaryError (and
retried), a malformed base URL is a ConfigError. Nothing from httpx escapes.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime
from types import TracebackType
from urllib.parse import quote

import httpx

from papertrader.config.yahoo import YahooSettings
from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import ConfigError, DataError, TemporaryError
from papertrader.data.adapters.retry import RetryPolicy, call_with_retry
from papertrader.data.adapters.yahoo.parse import ChartPayload
from papertrader.data.adapters.yahoo.responses import read_chart_response

log = logging.getLogger(__name__)


def _epoch(ts: datetime) -> int:
    if ts.tzinfo is None:
        raise DataError("Yahoo request times must be timezone-aware")
    return int(ts.timestamp())


class YahooChartClient:
    """Fetch raw chart payloads from Yahoo; `transport` lets tests serve recorded bodies."""

    def __init__(
        self,
        settings: YahooSettings | None = None,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings or YahooSettings()
        self.clock: Clock = clock or WallClock()
        self._rng = rng or random.Random()
        self._policy = RetryPolicy(
            self.settings.max_attempts,
            self.settings.backoff_base_s,
            self.settings.backoff_max_s,
            self.settings.max_retry_after_s,
        )
        timeout = httpx.Timeout(self.settings.timeout_s, connect=self.settings.connect_timeout_s)
        self._http = httpx.Client(
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": self.settings.user_agent, "Accept": "application/json"},
            follow_redirects=False,
        )
        #: Requests sent (including retries), for budgets and tests.
        self.requests_sent = 0

    def __enter__(self) -> YahooChartClient:
        """Use as a context manager so the connection pool is closed."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the connection pool."""
        self.close()

    def close(self) -> None:
        """Release pooled connections."""
        self._http.close()

    def get_chart(
        self,
        symbol: str,
        *,
        interval: str,
        period1: datetime,
        period2: datetime,
        include_pre_post: bool = False,
    ) -> ChartPayload:
        """One chart request [period1, period2) with events, retried while the failure is temporary."""
        symbol = symbol.strip()
        if not symbol or any(c in symbol for c in "/?#\\ "):
            raise DataError(f"not a Yahoo symbol: {symbol!r:.40}")
        url = self.settings.url + quote(symbol, safe="^=.-")
        params = {
            "interval": interval,
            "period1": str(_epoch(period1)),
            "period2": str(_epoch(period2)),
            "events": "div,splits",
            "includePrePost": "true" if include_pre_post else "false",
        }
        what = f"yahoo {symbol} {interval}"
        return call_with_retry(lambda: self._once(url, params, symbol), self._policy, self.clock, self._rng, what)

    def _once(self, url: str, params: dict[str, str], symbol: str) -> ChartPayload:
        self.requests_sent += 1
        log.debug("yahoo GET %s %s", url, params)
        try:
            response = self._http.get(url, params=params)
        except httpx.TimeoutException as exc:
            raise TemporaryError(f"Yahoo chart {symbol!r}: timed out ({type(exc).__name__}); retry later") from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise ConfigError(f"PAPERTRADER_YAHOO_URL is not usable: {exc}") from exc
        except (httpx.HTTPError, httpx.StreamError) as exc:
            raise TemporaryError(f"Yahoo chart {symbol!r}: {type(exc).__name__}: {exc}; retry later") from exc
        return read_chart_response(
            response.status_code, response.headers, response.content, symbol=symbol, now=self.clock.now()
        )
