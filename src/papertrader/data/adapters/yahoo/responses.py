"""Classify one Yahoo chart HTTP response: data, a refusal to fix (DataError) or a retryable failure.

| answer | raised |
|---|---|
| 200 + chart JSON | (parsed) |
| 200 + chart.error, 400, 422, 404, other 4xx | DataError (bad symbol, range or interval) |
| 200 + truncated / non-JSON body | TemporaryError |
| 429 | RateLimitedError, with Retry-After (seconds or HTTP date) when sent |
| 408, 425, 5xx | TemporaryError |
| HTML consent page or redirect to one | DataError (the chart endpoint needs no consent; check the URL/proxy) |
| other HTML (outage page) | TemporaryError |
"""

from __future__ import annotations

import email.utils
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from papertrader.core.errors import DataError, RateLimitedError, TemporaryError
from papertrader.data.adapters.yahoo.parse import ChartPayload, chart_error, decode_json, parse_chart

_CONSENT_MARKERS: Final = (b"consent.yahoo", b"guce.yahoo", b"consent-page", b"collectconsent")
_RETRYABLE_4XX: Final = frozenset({408, 425})


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None if absent/garbled."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, (when - now).total_seconds())
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _is_html(headers: Mapping[str, str], content: bytes) -> bool:
    kind = headers.get("content-type", "").lower()
    return "html" in kind or content.lstrip()[:1] == b"<"


def _is_consent(content: bytes, location: str) -> bool:
    low = content[:20_000].lower()
    return any(m in low for m in _CONSENT_MARKERS) or any(m.decode() in location.lower() for m in _CONSENT_MARKERS)


def _description(content: bytes) -> str:
    """Yahoo's own error description when the body is a chart error object, else a short body excerpt."""
    try:
        error = chart_error(json.loads(content.decode("utf-8")))
    except (UnicodeDecodeError, ValueError, RecursionError):
        error = None
    if error is not None:
        return f"{error[0]}: {error[1]}"
    return content[:200].decode("utf-8", "replace").strip() or "(empty body)"


def read_chart_response(
    status: int, headers: Mapping[str, str], content: bytes, *, symbol: str, now: datetime
) -> ChartPayload:
    """Turn one response into a payload or the project error that says what the operator should do."""
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    where = f"Yahoo chart {symbol!r:.40}"
    if status == 429:
        wait = retry_after_seconds(lower.get("retry-after"), now)
        raise RateLimitedError(f"{where}: throttled (429); slow down", retry_after=wait)
    if status >= 500 or status in _RETRYABLE_4XX:
        raise TemporaryError(f"{where}: server error {status}; retry later")
    if 300 <= status < 400:
        location = lower.get("location", "")
        if _is_consent(content, location):
            raise DataError(f"{where}: redirected to a consent page; check PAPERTRADER_YAHOO_URL or the proxy")
        raise DataError(f"{where}: unexpected redirect {status} to {location[:120]!r}")
    if status == 404:
        raise DataError(f"{where}: unknown or delisted symbol ({_description(content)})")
    if status in (400, 422):
        raise DataError(f"{where}: Yahoo refused the range or interval ({status}: {_description(content)})")
    if status != 200:
        raise DataError(f"{where}: unexpected HTTP {status} ({_description(content)})")
    if _is_html(lower, content):
        if _is_consent(content, ""):
            raise DataError(f"{where}: got a consent page instead of data; check PAPERTRADER_YAHOO_URL or proxy")
        raise TemporaryError(f"{where}: got an HTML page instead of JSON (outage?); retry later")
    return parse_chart(decode_json(content))
