"""The effective configuration: settings, API settings, vendor settings and a run's own config, secrets masked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ValidationError

from papertrader.api.context import ApiContext
from papertrader.api.redact import mask_url
from papertrader.api.routing import NOT_FOUND, Guards, RunParam, get, resource_router
from papertrader.api.schemas import ConfigView
from papertrader.api.views.convert import nan_to_null
from papertrader.persistence.repository import RunRow

SECRET_WORDS = ("key", "token", "secret", "password")
MASK = "***"


def mask_secrets(value: Any, path: str = "", masked: list[str] | None = None) -> Any:
    """Copy of a JSON-able structure with secret-named values replaced by *** (None stays None: unset)."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if any(word in str(key).lower() for word in SECRET_WORDS):
                out[str(key)] = None if item in (None, "", [], {}) else MASK
                if masked is not None and out[str(key)] is not None:
                    masked.append(name)
            else:
                out[str(key)] = mask_secrets(item, name, masked)
        return out
    if isinstance(value, list | tuple):
        return [mask_secrets(v, f"{path}[{i}]", masked) for i, v in enumerate(value)]
    if isinstance(value, str):
        hidden = mask_url(value)
        if hidden != value and masked is not None:
            masked.append(path)
        return hidden
    return value


def config_view(ctx: ApiContext, run: str | None) -> ConfigView:
    """The effective settings, API settings, vendor settings and the run's own config, secrets masked."""
    masked: list[str] = []
    settings = mask_secrets(ctx.settings.model_dump(mode="json"), "settings", masked)
    api = mask_secrets(ctx.api_settings.model_dump(mode="json"), "api", masked)
    vendors = mask_secrets(vendor_settings(), "vendors", masked)
    row: RunRow | None
    try:
        row = ctx.resolve(run)
    except HTTPException:
        if run is not None:
            raise
        row = None
    run_config = None if row is None else mask_secrets(nan_to_null(row.config), "run_config", masked)
    return ConfigView(
        settings=settings,
        api=api,
        vendors=vendors,
        run_id=None if row is None else row.id,
        run_config=run_config,
        masked=masked,
    )


def vendor_settings() -> dict[str, Any]:
    """Vendor client settings (keys masked by the caller); a misconfigured vendor shows its error."""
    from papertrader.config.alphavantage import AlphaVantageKeySettings, AlphaVantageSettings
    from papertrader.config.questrade import QuestradeSettings
    from papertrader.config.yahoo import YahooSettings

    out: dict[str, Any] = {}
    classes: Iterable[tuple[str, type[BaseModel]]] = (
        ("alphavantage", AlphaVantageSettings),
        ("alphavantage_credentials", AlphaVantageKeySettings),
        ("questrade", QuestradeSettings),
        ("yahoo", YahooSettings),
    )
    for name, cls in classes:
        try:
            out[name] = nan_to_null(cls().model_dump(mode="json"))
        except (ValidationError, ValueError) as exc:
            out[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}
    return out


def router(ctx: ApiContext, guards: Guards) -> APIRouter:
    """GET /config."""
    api = resource_router(guards)

    @get(api, "/config", ConfigView, "system", NOT_FOUND)
    def config(run: RunParam = None) -> ConfigView:
        """Effective configuration, secrets masked."""
        return config_view(ctx, run)

    return api
