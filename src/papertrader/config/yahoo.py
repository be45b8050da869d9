"""Settings of the Yahoo Finance chart client: where it calls, how long it waits, how it retries.

Every field reads ``PAPERTRADER_YAHOO_<FIELD>`` from the environment or ``.env`` (for example
``PAPERTRADER_YAHOO_URL``, ``PAPERTRADER_YAHOO_TIMEOUT_S``). The object is frozen: build a new one to change it.
"""

from __future__ import annotations

from typing import Final

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The v8 chart endpoint (see shared/docs/market-apis.md); a symbol is appended to it.
DEFAULT_YAHOO_URL: Final = "https://query2.finance.yahoo.com/v8/finance/chart/"


class YahooSettings(BaseSettings):
    """Connection, retry and lookback behaviour of the Yahoo chart client."""

    model_config = SettingsConfigDict(
        env_prefix="PAPERTRADER_YAHOO_",
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    url: str = Field(DEFAULT_YAHOO_URL, description="chart base URL; the symbol is appended")
    timeout_s: float = Field(15.0, gt=0, description="read/write/pool timeout of one request, seconds")
    connect_timeout_s: float = Field(5.0, gt=0, description="TCP/TLS connect timeout, seconds")
    max_attempts: int = Field(3, ge=1, le=10, description="tries per request for temporary failures")
    backoff_base_s: float = Field(1.0, ge=0, description="first backoff; doubles per retry, full jitter")
    backoff_max_s: float = Field(30.0, ge=0, description="cap of one backoff wait, seconds")
    max_retry_after_s: float = Field(
        60.0, ge=0, description="a 429 asking to wait longer than this is raised at once, not slept through"
    )
    clip_to_lookback: bool = Field(
        False,
        description="clip a start older than Yahoo's lookback window (and log it) instead of raising DataError",
    )
    lookback_margin_s: float = Field(
        3600.0, ge=0, description="stay this far inside Yahoo's lookback window, so clock skew is no 422"
    )
    events_through_now: bool = Field(
        True,
        description="ask for split/dividend events up to now, so raw prices and adj_factor are exact",
    )
    include_pre_post: bool = Field(
        False, description="intraday bars include pre- and post-market trading (Yahoo's includePrePost)"
    )
    user_agent: str = Field("Mozilla/5.0 (compatible; papertrader/0.1)", description="User-Agent header")

    @field_validator("url")
    @classmethod
    def _http_url_with_slash(cls, value: str) -> str:
        """Require an http(s) URL and end it with '/', so symbols join onto it predictably."""
        if not value.startswith(("https://", "http://")):
            raise ValueError("PAPERTRADER_YAHOO_URL must start with https:// (or http:// for a local fake)")
        return value if value.endswith("/") else value + "/"
