"""Which sector each symbol counts in for the sector caps: the universe's sectors under the explicit ones."""

from __future__ import annotations

from collections.abc import Mapping

from papertrader.config.settings import RiskSettings


def with_sectors(settings: RiskSettings, universe: Mapping[str, str]) -> RiskSettings:
    """Risk settings whose `sectors` also hold the universe's (explicit `risk.sectors` entries win)."""
    if not settings.sectors_from_universe or not universe:
        return settings
    return settings.model_copy(update={"sectors": {**universe, **settings.sectors}})
