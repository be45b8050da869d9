"""One HTTP GET to the query endpoint with one key: timed out, classified, and httpx never leaks out.

Every httpx failure becomes a project error whose message names the exception type, never the URL (which
carries the key): timeouts and network errors are ``TemporaryError``, a malformed URL setting is
``EndpointConfigError``. httpx logs each request URL at INFO; a filter on its logger replaces the
``apikey`` query value with ``***`` so the key never reaches a log handler.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Final

import httpx

from papertrader.config.alphavantage import AlphaVantageSettings
from papertrader.core.errors import PapertraderError, TemporaryError
from papertrader.data.adapters.alphavantage.classify import Classified, EndpointConfigError, classify_response
from papertrader.data.adapters.alphavantage.keys import ApiKey, mask

_APIKEY_QUERY: Final = re.compile(r"(apikey=)[^&\s\"'#]*", re.IGNORECASE)


def redact(message: str, key: ApiKey | None = None) -> str:
    """Remove a key from text: the ``apikey=`` query value and, if given, the key itself (masked)."""
    out = _APIKEY_QUERY.sub(r"\1***", message)
    if key is not None:
        out = out.replace(key.reveal(), key.masked)
    return out


class RedactApiKeys(logging.Filter):
    """A logging filter that rewrites any ``apikey=...`` in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place and keep the record."""
        if isinstance(record.msg, str) and "apikey" in record.msg.lower():
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(str(a)) if "apikey" in str(a).lower() else a for a in record.args)
        return True


def install_log_redaction() -> None:
    """Attach the redaction filter to httpx's loggers once, so request URLs are logged without keys."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactApiKeys) for f in logger.filters):
            logger.addFilter(RedactApiKeys())


class HttpFetcher:
    """Sends one request for one leased key and returns the classified answer."""

    def __init__(self, settings: AlphaVantageSettings, transport: httpx.BaseTransport | None = None) -> None:
        install_log_redaction()
        self._url = settings.url
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
            headers={"User-Agent": settings.user_agent, "Accept": "application/json, text/csv"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"HttpFetcher({self._url!r})"

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def fetch(self, params: Mapping[str, str], key: ApiKey, *, expect_csv: bool = False) -> Classified:
        """GET the endpoint with `params` and the key; classify the answer; wrap every httpx failure."""
        function = params.get("function", "?")
        query = {k: v for k, v in params.items() if k.lower() != "apikey"}
        query["apikey"] = key.reveal()
        failure: PapertraderError | None = None
        try:
            response = self._client.get(self._url, params=query)
            body = response.content
        except httpx.TimeoutException as exc:
            failure = TemporaryError(
                f"Alpha Vantage {function} timed out ({type(exc).__name__}) on key {key.masked}; retry later"
            )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            failure = EndpointConfigError(
                f"Alpha Vantage URL is unusable ({type(exc).__name__}: {redact(str(exc), key)[:200]}); "
                "check PAPERTRADER_ALPHAVANTAGE_URL"
            )
        except (httpx.HTTPError, httpx.StreamError) as exc:
            failure = TemporaryError(
                f"Alpha Vantage {function} failed ({type(exc).__name__}: {redact(str(exc), key)[:200]}); retry later"
            )
        if failure is not None:
            # Raised outside the except block so no exception context (whose URL holds the key) is attached.
            raise failure
        classified = classify_response(
            response.status_code,
            response.headers.get("content-type"),
            body,
            expect_csv=expect_csv,
            retry_after=response.headers.get("retry-after"),
        )
        if classified.message and key.reveal() in classified.message:
            classified = Classified(
                classified.kind,
                classified.payload,
                classified.message.replace(key.reveal(), mask(key.reveal())),
                classified.retry_after,
            )
        return classified
