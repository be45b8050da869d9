"""A real local webhook for notification tests: an http.server on 127.0.0.1, port 0, that records each POST."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Webhook:
    """The server's address and what it received; `gate` (when given) holds every request until it is set."""

    port: int
    received: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    gate: threading.Event | None = None
    arrived: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))

    def url(self, secret: str = "not-a-real-token-0042") -> str:
        """An apprise json:// URL to this server whose path carries a secret (as a real webhook's does)."""
        return f"json://127.0.0.1:{self.port}/hook/{secret}"

    def messages(self) -> list[str]:
        """The message texts received, in order."""
        return [str(r.get("message", "")) for r in self.received]


@contextmanager
def local_webhook(gate: threading.Event | None = None) -> Iterator[Webhook]:
    """Serve a recording webhook for the duration of the block."""
    hook = Webhook(port=0, gate=gate)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if hook.gate is not None:
                hook.gate.wait(30)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hook.received.append(json.loads(body or b"{}"))
            hook.paths.append(self.path)
            self.send_response(200)
            self.end_headers()
            hook.arrived.release()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        if gate is not None:
            gate.set()
        server.shutdown()
        server.server_close()
