"""Real bars and strategies for the drawdown tests: split/dividend-adjusted shared data, a long-everything strategy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from papertrader.config.settings import Settings
from papertrader.domain.events import DomainEvent
from papertrader.engine.cycle import Engine
from papertrader.features.view import FeatureView
from papertrader.signals.base import Decision
from support import SHARED, build_engine, load_shared_daily


def load_adjusted_daily(symbol: str) -> pd.DataFrame:
    """Shared daily bars with splits and dividends folded in (its factor file), so a split is not a crash."""
    bars = load_shared_daily(symbol)
    factors = pd.read_csv(SHARED / "equity-us" / "factor_files" / f"{symbol}.csv")
    dates = pd.to_datetime(factors["date"].astype(str)).dt.date.to_numpy()
    factor = (factors["price_factor"] * factors["split_factor"]).to_numpy()
    local = bars["ts"].dt.tz_convert("America/New_York").dt.date.to_numpy()
    row = np.searchsorted(dates, local, side="left").clip(0, len(factor) - 1)
    scale = factor[row]
    out = bars.copy()
    for column in ("open", "high", "low", "close"):
        out[column] = bars[column] * scale
    out["volume"] = bars["volume"] / np.where(scale > 0, scale, 1.0)
    return out


@dataclass
class LongEverything:
    """Buy-and-hold-like: 1/N of equity in every symbol that has a price (reads the slow average to know)."""

    n_symbols: int
    feature: str
    name: str = "long-everything"

    def required_features(self) -> tuple[str, ...]:
        return (self.feature,)

    def decide(self, ts: datetime, view: FeatureView) -> Decision:
        ready = np.isfinite(view.now(self.feature))
        weights = np.where(ready, 1.0 / self.n_symbols, 0.0)
        return Decision(weights, np.ones(self.n_symbols), lambda _i: "long everything")


def run_drawdown(bars: pd.DataFrame, settings: Settings, strategy: str) -> tuple[Engine, list[DomainEvent], np.ndarray]:
    """Run the trend baseline or long-everything over bars; returns the engine, its events and its equity curve."""
    engine, events = build_engine(bars, settings)
    if strategy == "hold":
        engine.strategy = LongEverything(len(engine.panel.symbols), f"sma_{settings.strategy.slow}")
    outcomes = engine.run()
    return engine, events, np.array([float(o.valuation.equity) for o in outcomes])


def max_drawdown(equity: np.ndarray) -> float:
    """Deepest close-to-peak drawdown of an equity curve (negative)."""
    return float((equity / np.maximum.accumulate(equity) - 1.0).min())
