"""API server settings: where it binds and which browser origins may call it (env PAPERTRADER_API_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from papertrader.core.net import is_loopback

#: The Vite dev server (`npm run dev` in web/), allowed as a CORS origin only when dev_server is set.
VITE_DEV_ORIGINS = ("http://127.0.0.1:5173", "http://localhost:5173")


class ApiSettings(BaseSettings):
    """Bind address, port and CORS; loopback only by default so the token never crosses a network."""

    model_config = SettingsConfigDict(env_prefix="PAPERTRADER_API_", env_file=".env", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="interface to bind; keep loopback unless behind a TLS proxy")
    port: int = Field(8000, ge=0, le=65535, description="TCP port; 0 picks a free one")
    dev_server: bool = Field(False, description="also allow the Vite dev server origin http://127.0.0.1:5173")
    cors_origins: tuple[str, ...] = Field((), description="further browser origins allowed to call the API")
    allowed_hosts: tuple[str, ...] = Field(
        (),
        description='Host names besides loopback the server answers, a JSON list such as ["box.lan"]; others get 400',
    )
    static_dir: Path | None = Field(None, description="built dashboard to serve at / (default: the packaged one)")

    def allowed_origins(self) -> list[str]:
        """Cross-origin browser callers; the dashboard itself is same-origin and needs no entry."""
        origins = list(self.cors_origins)
        if self.dev_server:
            origins.extend(o for o in VITE_DEV_ORIGINS if o not in origins)
        return origins

    def trusted_hosts(self) -> tuple[str, ...]:
        """Names besides loopback the server answers: the listed ones, and the bound address when it is one."""
        wildcard = self.host in ("", "0.0.0.0", "::")
        return self.allowed_hosts if wildcard else (*self.allowed_hosts, self.host)

    def exposure_warning(self) -> str | None:
        """A loud sentence when the bind address is not loopback: plain HTTP carries the token unencrypted."""
        if is_loopback(self.host.strip("[]").lower()):
            return None
        return (
            f"WARNING: serving on {self.host}, not loopback: the API speaks plain HTTP (no TLS), so the token and "
            "every account figure cross the network readable by anyone on it. Bind 127.0.0.1 and put a TLS proxy "
            "in front; other machines' Host names must be listed in PAPERTRADER_API_ALLOWED_HOSTS."
        )
