"""The live vendor sources the environment allows (keys and tokens present), built for the router."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from papertrader.config.settings import Settings
from papertrader.core.clock import Clock
from papertrader.core.errors import ConfigError


def key_manager(settings: Settings, clock: Clock) -> Any | None:
    """The Alpha Vantage key manager from the environment, or None when no key is configured."""
    from papertrader.data.adapters.alphavantage.keys import KeyManager

    manager = KeyManager.from_env(clock=clock, db_url=settings.db_url)
    return manager if manager.keys else None


def build_sources(settings: Settings, clock: Clock, names: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """The named sources that the environment allows, and a note for each one left out."""
    sources: dict[str, Any] = {}
    notes: list[str] = []
    for name in names:
        if name == "alphavantage":
            from papertrader.data.adapters.alphavantage import AlphaVantageClient, AlphaVantageSource

            manager = key_manager(settings, clock)
            if manager is None:
                notes.append("alphavantage left out: no key (set PAPERTRADER_AV_KEY_PREMIUM or PAPERTRADER_AV_KEYS)")
                continue
            sources[name] = AlphaVantageSource(AlphaVantageClient(manager, clock=clock), clock=clock)
        elif name == "yahoo":
            from papertrader.data.adapters.yahoo import YahooSource

            sources[name] = YahooSource(clock=clock)
        elif name == "questrade":
            from papertrader.config.questrade import QuestradeSettings
            from papertrader.data.adapters.questrade import QuestradeSource
            from papertrader.data.adapters.questrade.symbols import SymbolCache

            qs = QuestradeSettings()
            if qs.refresh_token is None and not qs.token_file.is_file():
                notes.append("questrade left out: no token (set PAPERTRADER_QUESTRADE_REFRESH_TOKEN)")
                continue
            cache = SymbolCache(qs.symbol_cache_file or settings.home / "cache" / "questrade-symbols.json")
            sources[name] = QuestradeSource(settings=qs, clock=clock, symbols=cache)
        else:
            raise ConfigError(f"unknown source {name!r}: use alphavantage, yahoo, questrade or auto")
    return sources, notes
