"""Alpha Vantage settings: endpoint, timeouts, key budgets and backoff; the keys themselves are secrets.

Two settings objects, both frozen and read from the environment and an ignored ``.env`` file:

* ``AlphaVantageSettings`` (prefix ``PAPERTRADER_ALPHAVANTAGE_``): everything that is not a secret, e.g.
  ``PAPERTRADER_ALPHAVANTAGE_URL`` (the base URL, so tests and fakes can point elsewhere),
  ``PAPERTRADER_ALPHAVANTAGE_FREE_PER_DAY``, ``PAPERTRADER_ALPHAVANTAGE_PREMIUM_PER_MINUTE``.
* ``AlphaVantageKeySettings`` (prefix ``PAPERTRADER_AV_``): the API keys, held as ``SecretStr`` so that
  ``repr()`` and logs never show them. ``PAPERTRADER_AV_KEY_PREMIUM`` (premium, market data),
  ``PAPERTRADER_AV_KEY_PRIMARY`` (free, fundamentals), ``PAPERTRADER_AV_KEY_SECONDARY`` (free, macro),
  ``PAPERTRADER_AV_KEY_SENTIMENT`` (free, news sentiment), and/or the list ``PAPERTRADER_AV_KEYS`` whose
  format is documented in ``papertrader.data.adapters.alphavantage.keys``.

Defaults follow ``shared/docs/market-apis.md``: a free key allows 25 requests a day and about one a second
(we keep 2.5 s between requests to stay clear of the burst throttle); the lowest premium tier is metered at
75 requests a minute with 15-minute delayed US data, hence ``entitlement="delayed"``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from papertrader.core.net import credential_url

#: Functions market-apis.md lists as premium endpoints; requests for them are only sent with a premium key.
DEFAULT_PREMIUM_FUNCTIONS: frozenset[str] = frozenset(
    {"TIME_SERIES_INTRADAY", "TIME_SERIES_DAILY_ADJUSTED", "REALTIME_BULK_QUOTES"}
)


class AlphaVantageSettings(BaseSettings):
    """How the Alpha Vantage client talks to the vendor and how hard it may use each key."""

    model_config = SettingsConfigDict(
        env_prefix="PAPERTRADER_ALPHAVANTAGE_",
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    url: str = Field(
        "https://www.alphavantage.co/query", description="the query endpoint (https; plain http only to loopback)"
    )
    connect_timeout_s: float = Field(5.0, gt=0, description="seconds to open a connection")
    read_timeout_s: float = Field(30.0, gt=0, description="seconds to wait for the body (full months are big)")
    premium_per_minute: int = Field(75, ge=1, description="requests a premium key may send per rolling minute")
    premium_min_spacing_s: float = Field(0.0, ge=0, description="minimum seconds between two premium requests")
    free_per_day: int = Field(25, ge=1, description="requests a free key may send per US/Eastern day")
    free_min_spacing_s: float = Field(2.5, ge=0, description="minimum seconds between two free-key requests")
    burst_backoff_base_s: float = Field(2.0, gt=0, description="first backoff after a throttle answer")
    burst_backoff_max_s: float = Field(60.0, gt=0, description="cap of the exponential throttle backoff")
    failover_wait_s: float = Field(
        5.0, ge=0, description="wait up to this long for the preferred key's next slot before using a backup key"
    )
    max_retries: int = Field(3, ge=0, description="retries of a temporary failure (5xx, timeout, throttle)")
    max_wait_s: float = Field(
        90.0, ge=0, description="longest wait for a key slot before QuotaExhaustedError is raised"
    )
    entitlement: Literal["delayed", "realtime"] | None = Field(
        "delayed", description="sent with premium keys for current data; None asks for history only"
    )
    realtime_delay_minutes: int = Field(
        15, ge=0, description="how far delayed entitlement lags; bars newer than this may still be forming"
    )
    intraday_label: Literal["auto", "start", "end"] = Field(
        "auto", description="whether intraday timestamps label bar starts or ends; auto detects from session edges"
    )
    intraday_label_fallback: Literal["start", "end"] = Field(
        "start", description="the convention assumed when auto detection finds no evidence"
    )
    daily_settle_minutes: int = Field(
        30, ge=0, description="minutes after the 16:00 ET close before today's daily bar counts as final"
    )
    premium_functions: frozenset[str] = Field(
        DEFAULT_PREMIUM_FUNCTIONS, description="functions only a premium key may request"
    )
    user_agent: str = Field("papertrader/0.1", description="HTTP User-Agent header")

    @field_validator("url")
    @classmethod
    def _no_key_in_clear(cls, value: str) -> str:
        """Every request carries an API key: https only, plain http only to a loopback fake."""
        return credential_url(value, "PAPERTRADER_ALPHAVANTAGE_URL")


class AlphaVantageKeySettings(BaseSettings):
    """The Alpha Vantage API keys, from the environment or .env only; never from a file in the repo."""

    model_config = SettingsConfigDict(
        env_prefix="PAPERTRADER_AV_",
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    key_premium: SecretStr | None = Field(None, description="premium key; serves market data")
    key_primary: SecretStr | None = Field(None, description="free key; serves fundamentals")
    key_secondary: SecretStr | None = Field(None, description="free key; serves macro series")
    key_sentiment: SecretStr | None = Field(None, description="free key; serves news sentiment")
    keys: SecretStr | None = Field(None, description="list 'KEY[:TIER[:PURPOSE[:BUDGET]]],...'")
