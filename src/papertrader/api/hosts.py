"""Host-header check: answer only names the operator meant, so a DNS-rebinding page cannot reach the API."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from papertrader.core.net import is_loopback

log = logging.getLogger(__name__)

#: Distinct refused Host names logged (one line each); later ones are refused silently.
MAX_REPORTED = 20
#: WebSocket close code 1008 (policy violation), sent before the handshake is accepted (uvicorn answers 403).
POLICY_VIOLATION = 1008


def host_name(header: str) -> str | None:
    """The name in a Host header without port or IPv6 brackets, lower-cased; None when malformed."""
    value = header.strip().lower()
    if value.startswith("["):
        inside, closed, rest = value[1:].partition("]")
        if not closed or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return inside or None
    name, _, port = value.partition(":")
    if ":" in port or (port and not port.isdigit()):
        return None
    return name or None


def host_allowed(header: str | None, extra: Iterable[str] = ()) -> bool:
    """Loopback, or a name the operator listed; a request without Host (HTTP/1.0) comes from no browser."""
    if header is None:
        return True
    name = host_name(header)
    if name is None:
        return False
    return is_loopback(name) or name in {h.strip("[]").lower() for h in extra}


class HostGuard:
    """ASGI middleware: 400 (HTTP) or close 1008 (WebSocket) for a Host that is neither loopback nor listed."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = tuple(allowed)
        self._reported: set[str] = set()  # log each refused name once, so a hostile page cannot flood the console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the Host before routing, so no route and no slash redirect ever sees a foreign name."""
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            raw = headers.get(b"host")
            header = None if raw is None else raw.decode("latin-1")
            if not host_allowed(header, self.allowed):
                if len(self._reported) < MAX_REPORTED and header not in self._reported:
                    self._reported.add(str(header))
                    log.warning("refused host %r (not loopback; see PAPERTRADER_API_ALLOWED_HOSTS)", header)
                if scope["type"] == "http":
                    response = PlainTextResponse(
                        "host not allowed: use 127.0.0.1 or localhost, or list the name in "
                        "PAPERTRADER_API_ALLOWED_HOSTS",
                        status_code=400,
                    )
                    await response(scope, receive, send)
                else:
                    await send({"type": "websocket.close", "code": POLICY_VIOLATION})
                return
        await self.app(scope, receive, send)
