"""The Questrade REST client: bearer calls to the token's api_server, one refresh on 401, 429 handled.

* Every call carries ``Authorization: Bearer`` with the current access token (QuestradeAuth refreshes it
  before expiry). A 401 triggers exactly one refresh and one retry; a second 401 is an AuthError.
* 429 is a RateLimitedError whose ``retry_after`` is X-RateLimit-Reset minus the injected clock; it is
  retried (sleeping on the clock) when the wait is short, raised at once when it is long.
* When a response says ``X-RateLimit-Remaining: 0``, the next call waits for the reset first.
* Temporary failures (5xx, timeouts, network) are retried with backoff; httpx errors never escape.
* Tokens never appear in logs, errors or repr (they travel as `Secret`; error texts are scrubbed).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote

import httpx
import pandas as pd

from papertrader.config.questrade import QuestradeSettings
from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import (
    AuthError,
    ConfigError,
    DataError,
    PapertraderError,
    RateLimitedError,
    TemporaryError,
)
from papertrader.data.adapters.questrade.auth import QuestradeAuth, Session
from papertrader.data.adapters.questrade.candles import questrade_interval, wire_time
from papertrader.data.adapters.questrade.parse import (
    Account,
    Market,
    SymbolInfo,
    parse_accounts,
    parse_candles,
    parse_markets,
    parse_symbols,
    parse_time,
)
from papertrader.data.adapters.questrade.responses import rate_limit_wait, read_response
from papertrader.data.adapters.questrade.secret import scrub
from papertrader.data.adapters.questrade.tokens import TokenStore
from papertrader.data.adapters.retry import RetryPolicy, call_with_retry

log = logging.getLogger(__name__)
T = TypeVar("T")


class QuestradeClient:
    """Typed calls to Questrade's REST API; `transport` lets tests serve recorded bodies."""

    def __init__(
        self,
        settings: QuestradeSettings | None = None,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
        store: TokenStore | None = None,
    ) -> None:
        self.settings = settings or QuestradeSettings()
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
            timeout=timeout, transport=transport, follow_redirects=False, headers={"Accept": "application/json"}
        )
        self.auth = QuestradeAuth(self.settings, self._http, self.clock, store)
        self._reset_at: float | None = None
        #: API requests sent (retries included, token requests excluded), for budgets and tests.
        self.requests_sent = 0

    def __repr__(self) -> str:
        """Never show a token."""
        return f"QuestradeClient(login_url={self.settings.login_url!r}, auth={self.auth!r})"

    def __enter__(self) -> QuestradeClient:
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

    # -- typed endpoints -------------------------------------------------------------------------------

    def time(self) -> datetime:
        """Questrade's clock (UTC), useful to check ours and the token."""
        return parse_time(self.get("v1/time"))

    def markets(self) -> tuple[Market, ...]:
        """Today's markets with their session times."""
        return parse_markets(self.get("v1/markets"))

    def accounts(self) -> tuple[Account, ...]:
        """The login's accounts."""
        return parse_accounts(self.get("v1/accounts"))

    def search_symbols(self, prefix: str) -> tuple[SymbolInfo, ...]:
        """Symbols whose ticker or description starts with prefix."""
        return parse_symbols(self.get("v1/symbols/search", {"prefix": prefix}))

    def candles(self, symbol_id: int, interval: str, start: datetime, end: datetime) -> pd.DataFrame:
        """One page of candles (the caller keeps it within 2,000); columns start, end, OHLCV."""
        params = {"startTime": wire_time(start), "endTime": wire_time(end), "interval": questrade_interval(interval)}
        return parse_candles(self.get(f"v1/markets/candles/{int(symbol_id)}", params))

    def quotes(self, symbol_ids: Sequence[int]) -> object:
        """Level 1 quotes of many symbols in one request (``v1/markets/quotes?ids=``); parsed by quotes.py."""
        if not symbol_ids:
            raise DataError("a Questrade quotes request needs at least one symbolId")
        return self.get("v1/markets/quotes", {"ids": ",".join(str(int(i)) for i in symbol_ids)})

    # -- transport -------------------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, str] | None = None) -> object:
        """GET {api_server}{path} as JSON, with one refresh on 401 and retries for temporary failures."""
        refreshed = False

        def attempt() -> object:
            """One try: send, and on the first 401 of this call refresh and resend once."""
            nonlocal refreshed
            session = self.auth.session()
            response = self._send(session, path, params)
            if response.status_code == 401:
                if refreshed:
                    raise AuthError(f"Questrade {path}: access token refused again after a refresh (401)")
                refreshed = True
                log.info("questrade %s: 401, refreshing the access token once", path)
                session = self.auth.refresh(stale=session)
                response = self._send(session, path, params)
            return read_response(
                response.status_code, response.headers, response.content, what=f"Questrade {path}", now=self.clock.now()
            )

        return self._retry(attempt, f"questrade {path}")

    def _retry(self, fn: Callable[[], T], what: str) -> T:
        try:
            return call_with_retry(fn, self._policy, self.clock, self._rng, what)
        except PapertraderError as exc:
            secrets = self.auth.known_secrets()
            exc.args = tuple(scrub(a, *secrets) if isinstance(a, str) else a for a in exc.args)
            raise

    def _wait_for_budget(self) -> None:
        """If the last answer said the budget is spent, wait for its reset (or raise if that is far off)."""
        if self._reset_at is None:
            return
        wait = self._reset_at - self.clock.now().timestamp()
        self._reset_at = None
        if wait <= 0:
            return
        if wait > self.settings.max_retry_after_s:
            raise RateLimitedError("Questrade rate budget spent until its reset", retry_after=wait)
        log.info("questrade: rate budget spent; waiting %.1fs for the reset", wait)
        self.clock.sleep(wait)

    def _send(self, session: Session, path: str, params: Mapping[str, str] | None) -> httpx.Response:
        self._wait_for_budget()
        url = session.api_server + quote(path, safe="/")
        self.requests_sent += 1
        try:
            response = self._http.get(
                url, params=dict(params or {}), headers={"Authorization": f"Bearer {session.access_token.reveal()}"}
            )
        except httpx.TimeoutException as exc:
            raise TemporaryError(f"Questrade {path}: timed out ({type(exc).__name__}); retry later") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            raise ConfigError(f"Questrade api_server {session.api_server!r} is not a usable URL") from None
        except httpx.HTTPError as exc:
            raise TemporaryError(f"Questrade {path}: {type(exc).__name__}; retry later") from None
        remaining = response.headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.strip() == "0":
            wait = rate_limit_wait(response.headers, self.clock.now())
            if wait is not None:
                self._reset_at = self.clock.now().timestamp() + wait
        return response
