"""The live vendor sources the environment allows (keys and tokens present), and the one router built over them.

`build_router` is the only place a vendor router is put together: `papertrader data backfill|poll` and the live
feed (engine/orchestrator.py `vendor_feed`) both call it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from papertrader.config.settings import Settings
from papertrader.core.clock import Clock
from papertrader.core.errors import ConfigError

if TYPE_CHECKING:  # the router imports pandas: loaded when a router is built, not with the CLI
    from papertrader.data.router import DataKind, Router

#: the vendor sources `build_sources` knows, in the order `auto` considers them
SOURCE_NAMES: Final = ("alphavantage", "yahoo", "questrade")


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


def source_routes(source: str) -> tuple[list[str], dict[DataKind, tuple[str, ...]]]:
    """The sources and routes `--source` names: one source for every kind, or `auto` (PAPERTRADER_DATA_ROUTES)."""
    from papertrader.data.router import DataKind, parse_routes

    if source == "auto":
        routes = parse_routes(os.environ.get("PAPERTRADER_DATA_ROUTES", ""))
        return list(dict.fromkeys(n for order in routes.values() for n in order if n in SOURCE_NAMES)), routes
    return [source], {kind: (source,) for kind in DataKind}


def build_router(
    settings: Settings,
    clock: Clock,
    names: Sequence[str],
    routes: Mapping[DataKind, tuple[str, ...]] | None = None,
    *,
    purpose: str = "data",
    cooldown: timedelta | None = None,
) -> tuple[Router, list[str]]:
    """A router over the named sources the environment allows (default routes: every kind in `names` order).

    Returns the notes on sources left out; raises ConfigError naming them when none is left.
    """
    from papertrader.data.router import DataKind, Router

    sources, notes = build_sources(settings, clock, names)
    if not sources:
        raise ConfigError(f"no {purpose} source is available: " + "; ".join(notes))
    chosen = routes if routes is not None else {kind: tuple(names) for kind in DataKind}
    if cooldown is None:
        return Router(sources, routes=chosen, clock=clock), notes
    return Router(sources, routes=chosen, clock=clock, cooldown=cooldown), notes
