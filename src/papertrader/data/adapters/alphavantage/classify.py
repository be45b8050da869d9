"""Classify every Alpha Vantage answer before anything parses it, and map each class to a project error.

Alpha Vantage reports errors and throttling with HTTP 200 and a JSON body (market-apis.md), so the status
code says little. A body is classified by its top-level keys (``Error Message``, ``Information``, ``Note``)
AND their wording, checked in this order because messages overlap (the burst message also mentions
"25 requests per day"):

=================  ===========================================================  ===========================
class              recognised by                                                raised as
=================  ===========================================================  ===========================
``BURST``          "1 request per second", "spreading out your free API         ``RateLimitedError``
                   requests", "more sparingly"
``PREMIUM_ONLY``   "premium endpoint"                                           ``PremiumEndpointError``
                                                                                (a ``KeyTierError``, i.e.
                                                                                ``ConfigError``)
``DAILY_CAP``      "requests per day", "calls per day", "standard API rate      ``QuotaExhaustedError``
                   limit", "standard API call frequency" (the pre-2024 ``Note``
                   names both 5/minute and 500/day; it is treated as a daily
                   cap, the conservative reading: never retried the same day)
``MINUTE_CAP``     "premium@alphavantage.co" / "higher API call volume",        ``RateLimitedError``
                   "per minute" (a premium key's per-minute meter)
``BAD_KEY``        "apikey is invalid or missing", "invalid API key",           ``AuthError``
                   the demo-key notice
``BAD_CALL``       "Invalid API call", "Invalid inputs", or any other           ``DataError``
                   ``Error Message``
``NOTICE``         an ``Information``/``Note`` with none of the wordings above  ``TemporaryError``
                   and no data beside it
``EMPTY``          ``{}``, ``{"Global Quote": {}}``, a series with only         (an empty frame)
                   ``Meta Data``, or every array/object in it empty
                   (``{"symbol": "X", "quarterlyEarnings": []}``)
``DATA``           anything else that is a JSON object (or CSV text)            (parsed)
=================  ===========================================================  ===========================

Transport-level classes: ``HTML`` (an HTML page, e.g. an outage or proxy page), ``MALFORMED`` (not decodable,
truncated JSON, a wrong content type with a body we cannot read, an empty body), ``SERVER_ERROR`` (5xx,
and unexpected 1xx/3xx) are ``TemporaryError``; ``HTTP_THROTTLED`` (429) is ``RateLimitedError`` with
``Retry-After``; ``HTTP_AUTH`` (401/403) is ``AuthError``; ``HTTP_NOT_FOUND`` (404/405: the URL setting
is wrong) is ``EndpointConfigError``; other 4xx are ``BAD_CALL``; ``UNEXPECTED`` (JSON that is not an object)
is ``DataError``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from papertrader.core.errors import (
    AuthError,
    ConfigError,
    DataError,
    PapertraderError,
    QuotaExhaustedError,
    RateLimitedError,
    TemporaryError,
)
from papertrader.data.adapters.alphavantage.keys import KeyOutcome, KeyTierError


class PremiumEndpointError(KeyTierError):
    """The vendor says the endpoint is premium-only: the key used is not entitled to it."""


class EndpointConfigError(ConfigError):
    """The configured Alpha Vantage URL does not answer like the query endpoint."""


class BodyKind(StrEnum):
    """What an answer is, before anything tries to parse it."""

    DATA = "data"
    EMPTY = "empty"
    BAD_CALL = "bad_call"
    BAD_KEY = "bad_key"
    DAILY_CAP = "daily_cap"
    BURST = "burst"
    MINUTE_CAP = "minute_cap"
    PREMIUM_ONLY = "premium_only"
    NOTICE = "notice"
    HTML = "html"
    MALFORMED = "malformed"
    UNEXPECTED = "unexpected"
    SERVER_ERROR = "server_error"
    HTTP_THROTTLED = "http_throttled"
    HTTP_AUTH = "http_auth"
    HTTP_NOT_FOUND = "http_not_found"


#: Top-level keys under which the vendor reports errors and throttling.
ERROR_KEYS: Final = ("Error Message", "Information", "Note")
#: Top-level keys that describe a payload rather than hold its data.
META_KEYS: Final = frozenset(
    {"meta data", "metadata", "last_updated", "items", "sentiment_score_definition", "relevance_score_definition"}
)

_WORDINGS: Final[tuple[tuple[BodyKind, tuple[str, ...]], ...]] = (
    (
        BodyKind.BURST,
        (
            "1 request per second",
            "spreading out your free api",
            "spread out your free api",
            "more sparingly",
            "per-second burst",
            "burst limit",
        ),
    ),
    (BodyKind.PREMIUM_ONLY, ("premium endpoint",)),
    (
        BodyKind.DAILY_CAP,
        (
            "requests per day",
            "calls per day",
            "standard api rate limit",
            "standard api call frequency",
            "daily rate limit",
            "daily limit",
        ),
    ),
    (BodyKind.MINUTE_CAP, ("premium@alphavantage.co", "higher api call volume", "per minute", "call frequency")),
    (
        BodyKind.BAD_KEY,
        (
            "apikey is invalid",
            "api key is invalid",
            "invalid api key",
            "apikey is missing",
            "invalid or missing",
            "demo api key",
            "**demo**",
            "claim your free api key",
        ),
    ),
    (BodyKind.BAD_CALL, ("invalid api call", "invalid inputs", "invalid input", "no data for symbol")),
)

#: The errors every kind maps to (None: not an error).
_ERRORS: Final[dict[BodyKind, type[PapertraderError] | None]] = {
    BodyKind.DATA: None,
    BodyKind.EMPTY: None,
    BodyKind.BAD_CALL: DataError,
    BodyKind.BAD_KEY: AuthError,
    BodyKind.DAILY_CAP: QuotaExhaustedError,
    BodyKind.BURST: RateLimitedError,
    BodyKind.MINUTE_CAP: RateLimitedError,
    BodyKind.PREMIUM_ONLY: PremiumEndpointError,
    BodyKind.NOTICE: TemporaryError,
    BodyKind.HTML: TemporaryError,
    BodyKind.MALFORMED: TemporaryError,
    BodyKind.UNEXPECTED: DataError,
    BodyKind.SERVER_ERROR: TemporaryError,
    BodyKind.HTTP_THROTTLED: RateLimitedError,
    BodyKind.HTTP_AUTH: AuthError,
    BodyKind.HTTP_NOT_FOUND: EndpointConfigError,
}

#: What each kind says about the key that sent the request (for the key manager).
_KEY_OUTCOMES: Final = {
    BodyKind.BAD_KEY: KeyOutcome.BAD_KEY,
    BodyKind.HTTP_AUTH: KeyOutcome.BAD_KEY,
    BodyKind.DAILY_CAP: KeyOutcome.DAILY_CAP,
    BodyKind.BURST: KeyOutcome.THROTTLED,
    BodyKind.MINUTE_CAP: KeyOutcome.THROTTLED,
    BodyKind.HTTP_THROTTLED: KeyOutcome.THROTTLED,
}

#: Kinds worth retrying (after backoff, possibly on another key).
RETRYABLE: Final = frozenset(
    {
        BodyKind.BURST,
        BodyKind.MINUTE_CAP,
        BodyKind.HTTP_THROTTLED,
        BodyKind.NOTICE,
        BodyKind.HTML,
        BodyKind.MALFORMED,
        BodyKind.SERVER_ERROR,
    }
)
#: Kinds that retire the key: the request may be repeated on another key.
KEY_FAILOVER: Final = frozenset({BodyKind.DAILY_CAP, BodyKind.BAD_KEY, BodyKind.HTTP_AUTH})

_MAX_MESSAGE: Final = 300


@dataclass(frozen=True)
class Classified:
    """An answer's class, the decoded payload (JSON object or CSV text) and the vendor's message."""

    kind: BodyKind
    payload: Any = None
    message: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """Whether the answer holds data (possibly none): the only kinds a parser may see."""
        return self.kind in (BodyKind.DATA, BodyKind.EMPTY)

    @property
    def key_outcome(self) -> KeyOutcome:
        """What this answer means for the key's budget state."""
        return _KEY_OUTCOMES.get(self.kind, KeyOutcome.OK)


def _wording_kind(message: str) -> BodyKind | None:
    lowered = message.lower()
    for kind, phrases in _WORDINGS:
        if any(p in lowered for p in phrases):
            return kind
    return None


def _is_empty(payload: dict[str, Any]) -> bool:
    rest = {k: v for k, v in payload.items() if str(k).lower() not in META_KEYS}
    if not rest:
        return True
    containers = [v for v in rest.values() if isinstance(v, dict | list)]
    return bool(containers) and all(len(c) == 0 for c in containers)


def classify_payload(payload: object) -> Classified:
    """Classify a decoded JSON answer by its keys and wording; data is only what no error wording claims."""
    if not isinstance(payload, dict):
        return Classified(BodyKind.UNEXPECTED, payload, f"top-level JSON is a {type(payload).__name__}")
    notices = {k: payload[k] for k in ERROR_KEYS if k in payload}
    if notices:
        message = " ".join(str(v) for v in notices.values())[:_MAX_MESSAGE]
        kind = _wording_kind(message)
        if kind is None:
            has_data = any(k not in ERROR_KEYS for k in payload)
            if "Error Message" in notices:
                kind = BodyKind.BAD_CALL
            elif has_data and not _is_empty({k: v for k, v in payload.items() if k not in ERROR_KEYS}):
                return Classified(BodyKind.DATA, payload, message)
            else:
                kind = BodyKind.NOTICE
        return Classified(kind, payload, message)
    if _is_empty(payload):
        return Classified(BodyKind.EMPTY, payload)
    return Classified(BodyKind.DATA, payload)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if 0 <= seconds < 86_400 else None


def _decode_text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def classify_response(
    status: int, content_type: str | None, body: bytes, *, expect_csv: bool = False, retry_after: str | None = None
) -> Classified:
    """Classify one HTTP answer (status, content type, raw body) before any parser sees it."""
    if status == 429:
        return Classified(BodyKind.HTTP_THROTTLED, None, "HTTP 429 Too Many Requests", _retry_after(retry_after))
    if status >= 500:
        return Classified(BodyKind.SERVER_ERROR, None, f"HTTP {status} from the server")
    if status in (401, 403):
        return Classified(BodyKind.HTTP_AUTH, None, f"HTTP {status}: the key was refused")
    if status in (404, 405):
        return Classified(BodyKind.HTTP_NOT_FOUND, None, f"HTTP {status}: no query endpoint at this URL")
    if 400 <= status < 500:
        return Classified(BodyKind.BAD_CALL, None, f"HTTP {status}: the request was refused")
    if status != 200:
        return Classified(BodyKind.SERVER_ERROR, None, f"unexpected HTTP {status}")
    text = _decode_text(body)
    if text is None:
        return Classified(BodyKind.MALFORMED, None, "the body is not UTF-8 text")
    stripped = text.lstrip()
    ctype = (content_type or "").split(";")[0].strip().lower()
    if not stripped:
        return Classified(BodyKind.MALFORMED, None, "the body is empty")
    if ctype == "text/html" or stripped[:1] == "<":
        return Classified(BodyKind.HTML, None, "an HTML page instead of data (outage or proxy page?)")
    if stripped[:1] in "{[" or ctype == "application/json":
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError):
            return Classified(BodyKind.MALFORMED, None, "the JSON body is truncated or malformed")
        return classify_payload(payload)
    if expect_csv:
        return Classified(BodyKind.DATA, text)
    return Classified(BodyKind.MALFORMED, None, f"expected JSON, got {ctype or 'no content type'}")


def error_for(classified: Classified, context: str) -> PapertraderError | None:
    """The project error an answer's class maps to, with a message saying what to do; None for data."""
    error_type = _ERRORS[classified.kind]
    if error_type is None:
        return None
    vendor = f": {classified.message}" if classified.message else ""
    advice = {
        BodyKind.BAD_CALL: "check the symbol and parameters",
        BodyKind.BAD_KEY: "check the Alpha Vantage key (shown masked in `papertrader data status`)",
        BodyKind.DAILY_CAP: "the key's daily cap is spent; it is retired until midnight US/Eastern",
        BodyKind.BURST: "throttled; back off and retry",
        BodyKind.MINUTE_CAP: "per-minute limit reached; back off and retry",
        BodyKind.PREMIUM_ONLY: "the key tier is insufficient: this is a premium endpoint, "
        "configure PAPERTRADER_AV_KEY_PREMIUM",
        BodyKind.NOTICE: "an unrecognised notice; retry later",
        BodyKind.HTML: "retry later",
        BodyKind.MALFORMED: "retry later",
        BodyKind.UNEXPECTED: "the vendor format changed; report it",
        BodyKind.SERVER_ERROR: "retry later",
        BodyKind.HTTP_THROTTLED: "back off and retry",
        BodyKind.HTTP_AUTH: "check the Alpha Vantage key",
        BodyKind.HTTP_NOT_FOUND: "check PAPERTRADER_ALPHAVANTAGE_URL",
    }[classified.kind]
    message = f"Alpha Vantage {context} ({classified.kind.value}){vendor}; {advice}"
    if error_type is RateLimitedError:
        return RateLimitedError(message, retry_after=classified.retry_after)
    return error_type(message)


def raise_unless_data(classified: Classified, context: str) -> None:
    """Raise the mapped project error for anything that is not data, so error bodies are never parsed."""
    error = error_for(classified, context)
    if error is not None:
        raise error
