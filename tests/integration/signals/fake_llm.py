"""A fake xAI / Moonshot / Anthropic endpoint on 127.0.0.1 (a real HTTP server in a thread), with faults.

Speaks both wire formats: ``POST /v1/chat/completions`` (OpenAI-compatible: ``Authorization: Bearer``,
reply ``choices[0].message.content``) and ``POST /v1/messages`` (Anthropic: ``x-api-key`` and
``anthropic-version: 2023-06-01``, reply ``content[0].text``). A request with the wrong key gets the
vendor's 401, whose message quotes the key it received (as some vendors do), so tests can prove that the
client never repeats a vendor's message.

``mode`` picks the answer: ``valid`` (the JSON in ``answer``), ``malformed`` (broken JSON), ``prose`` (a
sentence), ``rate_limit`` (429 with ``Retry-After: retry_after``), ``error`` (500), ``slow`` (holds the
request until ``release`` is set, at most ``hold_s``) and ``unauthorized`` (401 whatever the key).
Every request is recorded (path, model, user message, whether its key was right) in ``requests``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Mode = Literal["valid", "malformed", "prose", "rate_limit", "error", "slow", "unauthorized"]
OPENAI_KEY = "fake-openai-compatible-test-key"
ANTHROPIC_KEY = "fake-anthropic-test-key"


@dataclass(frozen=True)
class Recorded:
    """One request as the fake saw it (the key itself is not kept)."""

    path: str
    model: str
    user: str
    authorized: bool


class FakeLLM:
    """The server; use as a context manager. Attributes may be changed between requests."""

    def __init__(self, mode: Mode = "valid") -> None:
        self.mode: Mode = mode
        self.answer: dict[str, Any] = {"direction": "up", "confidence": 0.7, "reason": "momentum and trend agree"}
        self.retry_after = "120"
        self.hold_s = 20.0
        self.release = threading.Event()
        self.entered = threading.Event()
        self.requests: list[Recorded] = []
        self._lock = threading.Condition()
        self._held = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        """Where clients should point their base_url."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def held(self) -> int:
        """Requests the slow mode is holding right now."""
        with self._lock:
            return self._held

    def wait_held(self, n: int, timeout_s: float) -> bool:
        """Wait until the slow mode holds n requests at once (an event, not a sleep)."""
        with self._lock:
            return self._lock.wait_for(lambda: self._held >= n, timeout=timeout_s)

    def count(self, path: str | None = None) -> int:
        """Requests received (on one path, if given)."""
        with self._lock:
            return sum(1 for r in self.requests if path is None or r.path == path)

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = json.loads(self.rfile.read(length) or b"{}")
                anthropic = self.path == "/v1/messages"
                if self.path not in ("/v1/messages", "/v1/chat/completions"):
                    self._send(404, b'{"error": {"type": "not_found"}}')
                    return
                if anthropic:
                    given = self.headers.get("x-api-key", "")
                    ok = given == ANTHROPIC_KEY and self.headers.get("anthropic-version") == "2023-06-01"
                    user = request["messages"][-1]["content"]
                else:
                    given = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    ok = given == OPENAI_KEY
                    user = request["messages"][-1]["content"]
                with fake._lock:
                    fake.requests.append(Recorded(self.path, str(request.get("model")), str(user), ok))
                mode = fake.mode
                if not ok or mode == "unauthorized":
                    if anthropic:
                        error = {"type": "error", "error": {"type": "authentication_error", "message": given}}
                    else:
                        error = {
                            "error": {
                                "message": f"Incorrect API key provided: {given}",
                                "type": "invalid_request_error",
                                "code": "invalid_api_key",
                            }
                        }
                    self._send(401, json.dumps(error).encode())
                    return
                if mode == "rate_limit":
                    kind = {"type": "rate_limit_error"} if anthropic else {"type": "rate_limit_exceeded"}
                    self._send(429, json.dumps({"error": kind}).encode(), {"retry-after": fake.retry_after})
                    return
                if mode == "error":
                    self._send(500, b'{"error": {"type": "api_error", "message": "internal"}}')
                    return
                if mode == "slow":
                    with fake._lock:
                        fake._held += 1
                        fake._lock.notify_all()
                    fake.entered.set()
                    fake.release.wait(fake.hold_s)
                    with fake._lock:
                        fake._held -= 1
                text = {
                    "valid": json.dumps(fake.answer),
                    "slow": json.dumps(fake.answer),
                    "malformed": '{"direction": "up", "confidence": 0.7, "reason": "cut off',
                    "prose": "The stock looks bullish; I would say up with fairly high confidence.",
                }[mode]
                if anthropic:
                    body = {
                        "id": "msg_fake",
                        "type": "message",
                        "role": "assistant",
                        "model": request.get("model"),
                        "content": [{"type": "text", "text": text}],
                        "stop_reason": "end_turn",
                        "usage": {"input_tokens": 10, "output_tokens": 20},
                    }
                else:
                    body = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "model": request.get("model"),
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                        ],
                    }
                self._send(200, json.dumps(body).encode())

        return Handler
