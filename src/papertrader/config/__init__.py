"""One frozen settings object per component, from PAPERTRADER_* env vars, .env and a TOML file."""

from papertrader.config.settings import (
    CostSettings,
    RiskSettings,
    Settings,
    StrategySettings,
    load_settings,
)

__all__ = ["CostSettings", "RiskSettings", "Settings", "StrategySettings", "load_settings"]
