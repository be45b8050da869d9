"""HTTP and WebSocket API over the engine and the stored runs, with token auth and the dashboard at /."""

from papertrader.api.app import create_app
from papertrader.api.auth import IssuedToken, ensure_token
from papertrader.api.config import ApiSettings

__all__ = ["ApiSettings", "IssuedToken", "create_app", "ensure_token"]
