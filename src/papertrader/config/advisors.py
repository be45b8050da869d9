"""LLM advisor settings (Grok, Kimi, Claude): endpoints, models, budgets; the API keys are separate secrets.

Two objects, because run settings are stored with every run and secrets must never be:

* ``AdvisorsSettings`` (non-secret) is mounted on ``Settings.advisors``, so it reads the usual nested names:
  ``PAPERTRADER_ADVISORS__GROK__MODEL``, ``PAPERTRADER_ADVISORS__KIMI__DAILY_BUDGET``,
  ``PAPERTRADER_ADVISORS__CLAUDE__BASE_URL`` (how tests point at a fake server),
  ``PAPERTRADER_ADVISORS__CLAUDE__IN_BACKTESTS=true``, or ``[advisors.grok]`` in config.toml.
* ``AdvisorKeys`` holds the keys as ``SecretStr`` under the vendors' own standard variable names, from the
  environment or the ignored ``.env`` only: ``XAI_API_KEY`` (Grok), ``MOONSHOT_API_KEY`` (Kimi),
  ``ANTHROPIC_API_KEY`` (Claude). An advisor is enabled only when its key is set (and ``enabled`` is true).

Advisors are off in backtests and replays of history unless ``in_backtests`` is set: a language model has
read the news of any past date, so its "forecast" of a historical bar can be recall, not foresight. Prompts
are anonymised (no ticker, no date, no price level), which reduces but cannot remove that leak.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

AdvisorName = Literal["grok", "kimi", "claude"]
ADVISOR_NAMES: Final[tuple[AdvisorName, ...]] = ("grok", "kimi", "claude")
#: the environment variable that holds each advisor's key (vendor-standard names)
KEY_ENV: Final[dict[AdvisorName, str]] = {
    "grok": "XAI_API_KEY",
    "kimi": "MOONSHOT_API_KEY",
    "claude": "ANTHROPIC_API_KEY",
}


class AdvisorSettings(BaseModel):
    """How one advisor is reached and how much it may be asked; no secret lives here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wire: Literal["openai", "anthropic"] = Field(
        "openai", description="openai: POST {base}/v1/chat/completions; anthropic: POST {base}/v1/messages"
    )
    enabled: bool = Field(True, description="switch the advisor off even when its key is set")
    model: str = Field(..., min_length=1, description="the vendor's model id")
    base_url: str = Field(..., min_length=1, description="scheme and host, without /v1 (tests use a fake)")
    timeout_s: float = Field(20.0, gt=0, description="seconds to wait for one answer")
    connect_timeout_s: float = Field(5.0, gt=0, description="seconds to open a connection")
    max_tokens: int = Field(300, ge=16, description="answer length cap sent with each request")
    temperature: float | None = Field(
        0.0, ge=0, le=2, description="sampling temperature; None omits it (models with a fixed temperature)"
    )
    json_mode: bool = Field(True, description="openai wire: ask for response_format json_object")
    daily_budget: int = Field(500, ge=0, description="requests per UTC day, reserved before sending")
    max_age_bars: int = Field(5, ge=1, description="an answer is used for this many bars after the one it was asked at")
    ask_every_bars: int = Field(1, ge=1, description="ask about a symbol at most once per this many bars")
    horizon_bars: int = Field(5, ge=1, description="the forecast horizon the question names, in bars")
    max_in_flight: int = Field(64, ge=1, description="queued or running requests beyond which a cycle asks nothing")
    workers: int = Field(4, ge=1, le=64, description="background threads sending requests")
    rate_limit_backoff_s: float = Field(30.0, gt=0, description="pause after a 429 that names no Retry-After")
    in_backtests: bool = Field(False, description="also advise backtests and replays of history (look-ahead risk)")


class GrokSettings(AdvisorSettings):
    """xAI Grok over the OpenAI-compatible wire (defaults live on the class so one variable keeps the rest)."""

    wire: Literal["openai", "anthropic"] = Field("openai", description="wire format (openai-compatible)")
    model: str = Field("grok-3-mini", min_length=1, description="the vendor's model id")
    base_url: str = Field("https://api.x.ai", min_length=1, description="scheme and host, without /v1")


class KimiSettings(AdvisorSettings):
    """Moonshot Kimi over the OpenAI-compatible wire; kimi-k2 models fix their own temperature."""

    wire: Literal["openai", "anthropic"] = Field("openai", description="wire format (openai-compatible)")
    model: str = Field("kimi-k2.5", min_length=1, description="the vendor's model id")
    base_url: str = Field("https://api.moonshot.ai", min_length=1, description="scheme and host, without /v1")
    temperature: float | None = Field(None, ge=0, le=2, description="None omits it (the model fixes its own)")


class ClaudeSettings(AdvisorSettings):
    """Anthropic Claude over the messages API."""

    wire: Literal["openai", "anthropic"] = Field("anthropic", description="wire format (Anthropic messages)")
    model: str = Field("claude-haiku-4-5", min_length=1, description="the vendor's model id")
    base_url: str = Field("https://api.anthropic.com", min_length=1, description="scheme and host, without /v1")


class AdvisorsSettings(BaseModel):
    """The three optional board advisors; each is off until its key is in the environment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grok: GrokSettings = GrokSettings()
    kimi: KimiSettings = KimiSettings()
    claude: ClaudeSettings = ClaudeSettings()

    def of(self, name: AdvisorName) -> AdvisorSettings:
        """One advisor's settings by name."""
        settings: AdvisorSettings = getattr(self, name)
        return settings


class AdvisorKeys(BaseSettings):
    """The advisors' API keys, from the environment or .env only; repr and logs show them as '**********'."""

    model_config = SettingsConfigDict(env_prefix="", env_file=".env", extra="ignore", frozen=True)

    xai_api_key: SecretStr | None = Field(None, description="Grok (xAI) key")
    moonshot_api_key: SecretStr | None = Field(None, description="Kimi (Moonshot) key")
    anthropic_api_key: SecretStr | None = Field(None, description="Claude (Anthropic) key")

    def key(self, name: AdvisorName) -> SecretStr | None:
        """The advisor's key, or None when it is unset or blank."""
        value: SecretStr | None = getattr(self, KEY_ENV[name].lower())
        if value is None or not value.get_secret_value().strip():
            return None
        return value
