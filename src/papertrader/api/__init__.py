"""HTTP and WebSocket API over the engine and the stored runs, with token auth and the dashboard at /.

The names are loaded on first use (PEP 562): `papertrader.api.config` must not drag FastAPI and the engine
into every command's start (`papertrader --help`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from papertrader.api.app import create_app
    from papertrader.api.auth import IssuedToken, ensure_token
    from papertrader.api.config import ApiSettings

__all__ = ["ApiSettings", "IssuedToken", "create_app", "ensure_token"]
_HOME = {"create_app": "app", "IssuedToken": "auth", "ensure_token": "auth", "ApiSettings": "config"}


def __getattr__(name: str) -> Any:
    """Import the submodule that defines `name` when it is first asked for."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
