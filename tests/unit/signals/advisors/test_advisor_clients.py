"""The two chat clients speak each vendor's documented wire format and classify every failure."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from papertrader.config.advisors import ClaudeSettings, GrokSettings, KimiSettings
from papertrader.core.errors import AuthError, ConfigError, DataError, RateLimitedError, TemporaryError
from papertrader.signals.advisors.clients import (
    AdvisorAuthError,
    AdvisorRateLimitedError,
    AdvisorRequestError,
    AdvisorTimeoutError,
    AdvisorUnavailableError,
    AnthropicChatClient,
    MalformedReplyError,
    OpenAIChatClient,
    make_client,
    parse_retry_after,
)

KEY = SecretStr("fake-unit-test-key")
Handler = Callable[[httpx.Request], httpx.Response]


def _openai(handler: Handler, settings: GrokSettings | KimiSettings | None = None) -> OpenAIChatClient:
    client = make_client("grok", settings or GrokSettings(), KEY, httpx.MockTransport(handler))
    assert isinstance(client, OpenAIChatClient)
    return client


def _anthropic(handler: Handler) -> AnthropicChatClient:
    client = make_client("claude", ClaudeSettings(), KEY, httpx.MockTransport(handler))
    assert isinstance(client, AnthropicChatClient)
    return client


def test_the_openai_compatible_request_and_reply_follow_the_chat_completions_format() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}]})

    assert _openai(handler).complete("be terse", "question") == "hi"
    request = seen[0]
    assert str(request.url) == "https://api.x.ai/v1/chat/completions" and request.method == "POST"
    assert request.headers["authorization"] == f"Bearer {KEY.get_secret_value()}"
    body = json.loads(request.content)
    assert body["model"] == "grok-3-mini"
    assert body["messages"] == [{"role": "system", "content": "be terse"}, {"role": "user", "content": "question"}]
    assert body["response_format"] == {"type": "json_object"} and body["temperature"] == 0.0


def test_kimi_omits_the_temperature_its_models_fix_themselves() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"choices": [{"message": {"content": "{}"}}]})

    client = make_client("kimi", KimiSettings(), KEY, httpx.MockTransport(handler))
    client.complete("s", "u")
    assert "temperature" not in seen[0] and seen[0]["model"] == "kimi-k2.5"


def test_the_anthropic_request_and_reply_follow_the_messages_format() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        content = [{"type": "thinking", "thinking": "..."}, {"type": "text", "text": "answer"}]
        return httpx.Response(200, json={"type": "message", "content": content})

    assert _anthropic(handler).complete("system text", "user text") == "answer"
    request = seen[0]
    assert str(request.url) == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == KEY.get_secret_value()
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    body = json.loads(request.content)
    assert body["system"] == "system text" and body["max_tokens"] == 300 and body["model"] == "claude-haiku-4-5"
    assert body["messages"] == [{"role": "user", "content": "user text"}]


@pytest.mark.parametrize(
    ("status", "headers", "error", "base"),
    [
        (401, {}, AdvisorAuthError, AuthError),
        (403, {}, AdvisorAuthError, AuthError),
        (429, {"retry-after": "17"}, AdvisorRateLimitedError, RateLimitedError),
        (500, {}, AdvisorUnavailableError, TemporaryError),
        (529, {}, AdvisorUnavailableError, TemporaryError),
        (400, {}, AdvisorRequestError, ConfigError),
        (404, {}, AdvisorRequestError, ConfigError),
        (204, {}, MalformedReplyError, DataError),
    ],
)
def test_http_failures_are_classified_by_what_the_operator_must_do(
    status: int, headers: dict[str, str], error: type[Exception], base: type[Exception]
) -> None:
    body = {"error": {"type": "some_error", "message": f"key {KEY.get_secret_value()} is wrong"}}
    for client in (
        _openai(lambda r: httpx.Response(status, json=body, headers=headers)),
        _anthropic(lambda r: httpx.Response(status, json=body, headers=headers)),
    ):
        with pytest.raises(error) as caught:
            client.complete("s", "u")
        assert isinstance(caught.value, base)
        assert KEY.get_secret_value() not in str(caught.value)
        if status == 429:
            assert isinstance(caught.value, AdvisorRateLimitedError) and caught.value.retry_after == 17.0


def test_a_timeout_and_a_dropped_connection_are_temporary_and_carry_no_httpx_context() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    def dropped(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(AdvisorTimeoutError) as timed_out:
        _openai(slow).complete("s", "u")
    with pytest.raises(AdvisorUnavailableError) as refused:
        _anthropic(dropped).complete("s", "u")
    for exc in (timed_out.value, refused.value):
        assert exc.__context__ is None and exc.__cause__ is None


@pytest.mark.parametrize(
    "body",
    [b"not json", b"{}", b'{"choices": []}', b'{"choices": [{"message": {"content": null}}]}', b"[1, 2]"],
)
def test_a_200_that_is_not_the_documented_envelope_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedReplyError):
        _openai(lambda r: httpx.Response(200, content=body)).complete("s", "u")
    with pytest.raises(MalformedReplyError):
        _anthropic(lambda r: httpx.Response(200, content=body)).complete("s", "u")


def test_retry_after_is_read_in_seconds_only() -> None:
    assert parse_retry_after("30") == 30.0 and parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(None) is None and parse_retry_after("-3") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None


def test_a_client_repr_shows_the_advisor_and_model_but_not_the_key() -> None:
    client = _openai(lambda r: httpx.Response(200))
    assert "grok-3-mini" in repr(client) and KEY.get_secret_value() not in repr(client)
