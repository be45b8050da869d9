"""Settings of the Questrade client: login URL, timeouts, retries and where the rotated token lives.

Every field reads ``PAPERTRADER_QUESTRADE_<FIELD>`` from the environment or ``.env``. The refresh token in
``PAPERTRADER_QUESTRADE_REFRESH_TOKEN`` is used ONLY to bootstrap: Questrade refresh tokens are single-use,
so after the first refresh the rotated token lives in ``token_file`` (owner-only, 0600), by default
``$PAPERTRADER_HOME/secrets/questrade-token.json``. Setting a *different* token in the environment later
(after re-authorising the app in Questrade's portal) replaces the stored chain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from papertrader.config.settings import default_home
from papertrader.core.net import credential_url

DEFAULT_QUESTRADE_LOGIN_URL: Final = "https://login.questrade.com"
#: Questrade returns at most this many candles per call (shared/docs/market-apis.md).
QUESTRADE_MAX_CANDLES: Final = 2000


def default_token_file() -> Path:
    """Where the rotated refresh token is kept unless PAPERTRADER_QUESTRADE_TOKEN_FILE says otherwise."""
    return default_home() / "secrets" / "questrade-token.json"


class QuestradeSettings(BaseSettings):
    """Connection, token and pagination behaviour of the Questrade client."""

    model_config = SettingsConfigDict(
        env_prefix="PAPERTRADER_QUESTRADE_",
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    login_url: str = Field(DEFAULT_QUESTRADE_LOGIN_URL, description="OAuth host; /oauth2/token is appended")
    refresh_token: SecretStr | None = Field(
        None, description="bootstrap refresh token (single-use); never logged, never persisted in clear here"
    )
    token_file: Path = Field(default_factory=default_token_file, description="rotated token, mode 0600")
    timeout_s: float = Field(15.0, gt=0, description="read/write/pool timeout of one request, seconds")
    connect_timeout_s: float = Field(5.0, gt=0, description="TCP/TLS connect timeout, seconds")
    max_attempts: int = Field(3, ge=1, le=10, description="tries per request for temporary failures")
    backoff_base_s: float = Field(0.5, ge=0, description="first backoff; doubles per retry, full jitter")
    backoff_max_s: float = Field(30.0, ge=0, description="cap of one backoff wait, seconds")
    max_retry_after_s: float = Field(
        60.0, ge=0, description="a 429 whose reset is further away than this is raised at once"
    )
    token_refresh_margin_s: float = Field(
        60.0, ge=0, description="refresh the access token this long before Questrade says it expires"
    )
    max_candles_per_request: int = Field(
        QUESTRADE_MAX_CANDLES, ge=1, le=QUESTRADE_MAX_CANDLES, description="page size of candle requests"
    )
    symbol_cache_file: Path | None = Field(
        None, description="optional JSON cache of ticker -> symbolId; in-memory only when unset"
    )

    @field_validator("login_url")
    @classmethod
    def _http_url_without_slash(cls, value: str) -> str:
        """Require https (http only to a loopback fake: the refresh token rides along), no trailing slash."""
        return credential_url(value, "PAPERTRADER_QUESTRADE_LOGIN_URL").rstrip("/")
