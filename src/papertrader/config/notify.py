"""Settings of notifications: where alerts go (apprise URLs, secret), which kinds, and how many per minute.

Every field reads ``PAPERTRADER_NOTIFY_<FIELD>`` from the environment (or an ignored ``.env``), never from
``config.toml`` and never from the run's stored config: a notification URL carries a bot token or a webhook
secret, so it lives only where the other keys live (docs/api-keys.md) and is masked wherever it could be
printed. Without ``PAPERTRADER_NOTIFY_URLS`` nothing is sent and apprise is never imported.
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

#: what can be notified; `health` is every other component (database, signals, advisors)
NOTIFY_KINDS: Final = ("fill", "halt", "reset", "data", "model", "drift", "health")
#: a new URL starts wherever a scheme follows whitespace or a comma (a comma inside a URL's query stays)
_URL_SPLIT: Final = re.compile(r"[\s,]+(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def split_urls(value: str) -> list[str]:
    """One apprise URL per target from a whitespace- or comma-separated list."""
    return [u.strip(" ,\t\n") for u in _URL_SPLIT.split(value.strip()) if u.strip(" ,\t\n")]


class NotifySettings(BaseSettings):
    """Targets, kinds and limits of the notifier that listens to a run's events."""

    model_config = SettingsConfigDict(
        env_prefix="PAPERTRADER_NOTIFY_",
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    urls: SecretStr | None = Field(
        None,
        description="apprise URLs, one per target (tgram://, discord://, mailto://, json://...), separated by "
        "spaces or commas; a secret: never logged or stored",
    )
    kinds: str = Field(
        ",".join(NOTIFY_KINDS),
        description="comma-separated kinds to send: fill, halt, reset, data, model, drift, health",
    )
    rate_limit: int = Field(5, ge=1, description="messages per kind and per rate window; the rest are counted")
    rate_window_s: float = Field(60.0, gt=0, description="length of the rate window, wall-clock seconds")
    queue_size: int = Field(100, ge=1, description="messages waiting for the sender; a full queue drops, counted")
    drain_s: float = Field(5.0, ge=0, description="at the end of a run, wait this long for queued messages")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment and .env only: no TOML file, so a secret URL is never written into config."""
        return (init_settings, env_settings, dotenv_settings)

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: str) -> str:
        """Reject a misspelt kind now rather than silently never notifying it."""
        names = [k.strip().lower() for k in value.split(",") if k.strip()]
        unknown = sorted(set(names) - set(NOTIFY_KINDS))
        if unknown:
            known = ", ".join(NOTIFY_KINDS)
            raise ValueError(f"unknown notification kind(s) {', '.join(unknown)}; choose from {known}")
        return ",".join(dict.fromkeys(names))

    @property
    def kind_set(self) -> frozenset[str]:
        """The kinds to send."""
        return frozenset(k for k in self.kinds.split(",") if k)

    def url_list(self) -> list[str]:
        """The configured target URLs (secret: hand them to apprise, never to a log)."""
        return split_urls(self.urls.get_secret_value()) if self.urls is not None else []
