"""Bearer-token auth: one random token per PAPERTRADER_HOME, owner-only on disk, compared in constant time.

HTTP routes take it as ``Authorization: Bearer <token>``. The WebSocket takes it either as the query
parameter ``?token=<token>`` or, so that it stays out of URLs and logs, as a subprotocol: the client offers
``["papertrader.v1", "bearer.<token>"]`` and the server accepts ``papertrader.v1`` (never echoing the token).
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request, WebSocket, status

from papertrader.core.errors import ConfigError

log = logging.getLogger(__name__)

TOKEN_FILE = "api-token"
SUBPROTOCOL = "papertrader.v1"
BEARER_PREFIX = "bearer."
_MIN_LENGTH = 32


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """The token, where it lives, and whether this call created it (only then is it shown)."""

    token: str
    path: Path
    created: bool


def token_path(home: Path) -> Path:
    """Where the token of this PAPERTRADER_HOME is kept."""
    return home / TOKEN_FILE


def ensure_token(home: Path) -> IssuedToken:
    """Read the token, creating it with 0600 permissions on first start; fixes a file others can read."""
    path = token_path(home)
    home.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return IssuedToken(_read(path), path, created=False)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(token + "\n")
    return IssuedToken(token, path, created=True)


def _read(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s was readable by others (mode %o); restricting it to its owner", path, mode & 0o777)
        path.chmod(0o600)
    token = path.read_text(encoding="ascii").strip()
    if len(token) < _MIN_LENGTH:
        raise ConfigError(f"{path} holds no valid API token; delete it and restart to create a new one")
    return token


def matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison, so response timing does not leak the token."""
    return given is not None and secrets.compare_digest(expected.encode(), given.encode())


class BearerAuth:
    """FastAPI dependency refusing requests without the right bearer token (401 with WWW-Authenticate)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: Request) -> None:
        """Check the Authorization header."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not matches(self._token, value.strip() or None):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="missing or wrong API token: send 'Authorization: Bearer <token>' ($PAPERTRADER_HOME/api-token)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    def websocket_ok(self, websocket: WebSocket) -> bool:
        """Whether a WebSocket handshake carries the token (query parameter or bearer.<token> subprotocol)."""
        if matches(self._token, websocket.query_params.get("token")):
            return True
        return any(
            p.startswith(BEARER_PREFIX) and matches(self._token, p[len(BEARER_PREFIX) :])
            for p in offered_subprotocols(websocket)
        )


def offered_subprotocols(websocket: WebSocket) -> list[str]:
    """The subprotocols a client offered in Sec-WebSocket-Protocol."""
    offered: list[str] = websocket.scope.get("subprotocols") or []
    return [p.strip() for p in offered]
