"""Two small chat clients over httpx: OpenAI-compatible (Grok, Kimi) and Anthropic messages (Claude).

Each sends one system + one user message and returns the answer text; every failure becomes a classified
project error so the advisor knows what to do next:

* ``AdvisorAuthError`` (401/403): the key was refused; the advisor stops asking until restarted.
* ``AdvisorRateLimitedError`` (429): wait ``retry_after`` seconds (the Retry-After header) before asking again.
* ``AdvisorUnavailableError`` (5xx, 529 overloaded, network) and ``AdvisorTimeoutError``: try on a later bar.
* ``AdvisorRequestError`` (other 4xx: unknown model, bad parameter): fix the setting named.
* ``MalformedReplyError``: a 2xx body that is not the documented envelope.

Secrecy: the key is held as ``SecretStr`` and revealed only into the request header. Error messages carry
the status and the vendor's short error *type*, never the vendor's message (which may quote the key), the
request, or its headers, and they are raised outside ``except`` blocks so no httpx exception rides along as
context. httpx logs the URL and status only, never headers.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from typing import Any, Final, Protocol

import httpx
from pydantic import SecretStr

from papertrader.config.advisors import AdvisorSettings
from papertrader.core.errors import AuthError, ConfigError, DataError, RateLimitedError, TemporaryError

ANTHROPIC_VERSION: Final = "2023-06-01"
_TYPE_CHARS: Final = re.compile(r"^[A-Za-z0-9_.\-]{1,60}$")


class AdvisorAuthError(AuthError):
    """The advisor's key was refused (401/403): fix the key in the environment."""


class AdvisorRateLimitedError(RateLimitedError):
    """The advisor throttled us (429): wait `retry_after` seconds if known."""


class AdvisorUnavailableError(TemporaryError):
    """The advisor failed on its side (5xx, overloaded) or the network did: ask again later."""


class AdvisorTimeoutError(AdvisorUnavailableError):
    """No answer within the configured timeout: ask again later."""


class AdvisorRequestError(ConfigError):
    """The advisor refused the request itself (4xx): the model name or a parameter is wrong."""


class MalformedReplyError(DataError):
    """A successful HTTP answer whose body is not the vendor's documented envelope."""


class ChatClient(Protocol):
    """Anything that turns one system + user message into the model's answer text."""

    advisor: str
    model: str

    def complete(self, system: str, user: str) -> str:
        """The answer text, or a classified error."""
        ...

    def close(self) -> None:
        """Release the connection pool."""
        ...


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given in seconds; None when absent or an HTTP date."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _error_type(body: bytes) -> str:
    """The vendor's short error type (``rate_limit_error``), never its free-text message."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "no JSON body"
    error = data.get("error") if isinstance(data, dict) else None
    candidate = None
    if isinstance(error, dict):
        candidate = error.get("type") or error.get("code")
    if isinstance(candidate, str) and _TYPE_CHARS.match(candidate):
        return candidate
    return "unspecified"


class _HttpChat(ABC):
    """The shared part: one POST with a timeout, classified status codes, the key kept out of errors."""

    path: str = ""

    def __init__(
        self,
        advisor: str,
        settings: AdvisorSettings,
        key: SecretStr,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.advisor = advisor
        self.model = settings.model
        self._settings = settings
        self._key = key
        self._url = settings.base_url.rstrip("/") + self.path
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
            headers={"User-Agent": "papertrader/0.1", "Content-Type": "application/json"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(advisor={self.advisor!r}, model={self.model!r}, url={self._url!r})"

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    @abstractmethod
    def _headers(self) -> dict[str, str]:
        """The vendor's authentication and version headers."""

    def _post(self, body: dict[str, Any]) -> Any:
        """POST the body; the parsed JSON of a 2xx answer or a classified error (never with the key)."""
        who = f"{self.advisor} ({self.model})"
        failure: Exception | None = None
        response: httpx.Response | None = None
        try:
            response = self._client.post(self._url, json=body, headers=self._headers())
        except httpx.TimeoutException as exc:
            failure = AdvisorTimeoutError(
                f"{who}: no answer within {self._settings.timeout_s:g}s ({type(exc).__name__}); asking again later"
            )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            failure = AdvisorRequestError(f"{who}: the base URL is unusable ({type(exc).__name__}); fix base_url")
        except httpx.HTTPError as exc:
            failure = AdvisorUnavailableError(f"{who}: request failed ({type(exc).__name__}); asking again later")
        if failure is not None:
            raise failure  # outside the except block: no httpx exception (request, headers) attached
        assert response is not None
        status = response.status_code
        if status in (401, 403):
            raise AdvisorAuthError(f"{who}: HTTP {status} {_error_type(response.content)}: the key was refused")
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise AdvisorRateLimitedError(
                f"{who}: HTTP 429 {_error_type(response.content)}: throttled"
                + (f", retry after {retry_after:g}s" if retry_after is not None else ""),
                retry_after=retry_after,
            )
        if status >= 500:
            raise AdvisorUnavailableError(f"{who}: HTTP {status} {_error_type(response.content)}; asking again later")
        if status >= 400:
            raise AdvisorRequestError(
                f"{who}: HTTP {status} {_error_type(response.content)}: check the model name and parameters"
            )
        if status != 200:
            raise MalformedReplyError(f"{who}: unexpected HTTP {status}")
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            pass
        raise MalformedReplyError(f"{who}: HTTP 200 with a body that is not JSON")

    def _malformed(self, what: str) -> MalformedReplyError:
        return MalformedReplyError(f"{self.advisor} ({self.model}): {what}")


class OpenAIChatClient(_HttpChat):
    """OpenAI-compatible chat completions (xAI Grok, Moonshot Kimi): Bearer key, choices[0].message.content."""

    path = "/v1/chat/completions"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key.get_secret_value()}"}

    def complete(self, system: str, user: str) -> str:
        """One chat completion; the assistant message's text."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "max_tokens": self._settings.max_tokens,
        }
        if self._settings.temperature is not None:
            body["temperature"] = self._settings.temperature
        if self._settings.json_mode:
            body["response_format"] = {"type": "json_object"}
        data = self._post(body)
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise self._malformed("the reply has no choices[0].message.content") from None
        if not isinstance(content, str):
            raise self._malformed("choices[0].message.content is not text")
        return content


class AnthropicChatClient(_HttpChat):
    """Anthropic messages API (Claude): x-api-key and anthropic-version headers, the first text block."""

    path = "/v1/messages"

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": self._key.get_secret_value(), "anthropic-version": ANTHROPIC_VERSION}

    def complete(self, system: str, user: str) -> str:
        """One message; the text of the first text block of the reply."""
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self._settings.max_tokens,
            "system": system,
            "messages": [{"role": "user", "content": user}],
        }
        if self._settings.temperature is not None:
            body["temperature"] = min(1.0, self._settings.temperature)
        data = self._post(body)
        blocks = data.get("content") if isinstance(data, dict) else None
        if not isinstance(blocks, list):
            raise self._malformed("the reply has no content list")
        for block in blocks:
            if isinstance(block, dict) and block.get("type") == "text":
                text = block.get("text")
                if isinstance(text, str):
                    return text
        raise self._malformed("the reply has no text block")


def make_client(
    advisor: str, settings: AdvisorSettings, key: SecretStr, transport: httpx.BaseTransport | None = None
) -> ChatClient:
    """The client for the advisor's wire format."""
    if settings.wire == "anthropic":
        return AnthropicChatClient(advisor, settings, key, transport)
    return OpenAIChatClient(advisor, settings, key, transport)
