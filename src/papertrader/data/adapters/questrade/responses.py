"""Classify Questrade API answers: JSON data, or the project error that says what to do.

Questrade errors are ``{"code": N, "message": "..."}`` (shared/docs/market-apis.md): 1001 bad endpoint (404),
1002-1004 bad argument (400), 1006 over the rate limit (429), 1014/1017 missing or invalid token (401, handled
by the client with one refresh), 1016 forbidden (403), 1019 symbol not found (404).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime

from papertrader.core.errors import AuthError, DataError, RateLimitedError, TemporaryError


def rate_limit_wait(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds until X-RateLimit-Reset (epoch seconds), measured on the injected clock; None if absent."""
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    raw = lower.get("x-ratelimit-reset")
    if raw is None:
        return None
    try:
        reset = float(raw.strip())
    except ValueError:
        return None
    if not math.isfinite(reset):
        return None
    return max(0.0, reset - now.timestamp())


def error_detail(content: bytes) -> tuple[int | None, str]:
    """Questrade's (code, message) from an error body, or (None, a short excerpt) when it is not one."""
    try:
        body = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, content[:120].decode("utf-8", "replace").strip() or "(empty body)"
    if isinstance(body, Mapping):
        code = body.get("code")
        message = body.get("message")
        return (
            code if isinstance(code, int) and not isinstance(code, bool) else None,
            str(message)[:200] if message is not None else "",
        )
    return None, "(no error object)"


def decode_body(content: bytes, what: str) -> object:
    """Decode a 200 body; a cut-off or non-JSON body is a TemporaryError (a retry usually works)."""
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise TemporaryError(f"{what}: truncated or non-JSON body ({len(content)} bytes); retry later") from exc


def read_response(status: int, headers: Mapping[str, str], content: bytes, *, what: str, now: datetime) -> object:
    """The decoded JSON of a 200, or the classified error of anything else (401 included, as AuthError)."""
    if status == 200:
        return decode_body(content, what)
    code, message = error_detail(content)
    detail = (
        f"{what}: HTTP {status}" + (f" code {code}" if code is not None else "") + (f": {message}" if message else "")
    )
    if status == 429:
        raise RateLimitedError(detail, retry_after=rate_limit_wait(headers, now))
    if status >= 500 or status == 408:
        raise TemporaryError(detail + "; retry later")
    if status == 401:
        raise AuthError(detail + "; the access token was refused after a refresh — check the refresh token")
    if status == 403:
        raise AuthError(detail + "; this Questrade login may not have market-data permission")
    if status == 404 and code == 1019:
        raise DataError(detail + " (unknown symbol)")
    raise DataError(detail)
