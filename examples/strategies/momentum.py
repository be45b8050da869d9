"""Time-series momentum: an example papertrader strategy plug-in (docs/strategies.md walks through it).

Run it from this folder (CI does, on the bundled data):

    papertrader data import --source bundled
    papertrader backtest --strategy momentum:Momentum --symbols AAPL,MSFT,IBM --start 2006-01-01 --end 2009-01-01

Parameters come from `strategy.params` (config.toml `[strategy] params = { lookback = 120 }`, or
PAPERTRADER_STRATEGY__PARAMS='{"lookback": 120}').
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from papertrader import Decision, FeatureView, PriceArrays


class Momentum:
    """Long 1/N of each symbol whose `lookback`-bar return is positive and whose close is above its 50-bar
    average; flat otherwise. Nothing is fitted to data: the two rules are the whole strategy."""

    def __init__(self, symbols: Sequence[str], lookback: int = 60, trend: str = "sma_50") -> None:
        if lookback < 1:
            raise ValueError("lookback must be at least one bar")
        self.symbols = tuple(symbols)
        self.lookback = lookback
        self.trend = trend  # a built-in panel: sma_20, sma_50, ema_12, ... (see docs/strategies.md)
        self.feature = f"momentum_{lookback}"
        self.name = f"momentum_{lookback}"

    def features(self, prices: PriceArrays) -> dict[str, np.ndarray]:
        """The `lookback`-bar return: row k divides close k by close k - lookback, so it reads no later bar."""
        close = prices.close
        ret = np.full_like(close, np.nan)
        ret[self.lookback :] = close[self.lookback :] / close[: -self.lookback] - 1.0
        return {self.feature: ret}

    def required_features(self) -> tuple[str, ...]:
        """Its own momentum panel, the built-in trend filter and the close."""
        return (self.feature, self.trend, "close")

    def reads_only_required(self) -> bool:
        """Nothing else is read, so a run builds only these panels (optional: without it, every built-in one)."""
        return True

    def decide(self, ts: datetime, view: FeatureView) -> Decision:
        """Target weights from the momentum and the trend filter at this bar's close (NaN: no view, flat)."""
        mom = view.now(self.feature)
        close, trend = view.now("close"), view.now(self.trend)
        ready = np.isfinite(mom) & np.isfinite(close) & np.isfinite(trend)
        long = ready & (mom > 0) & (close > trend)
        weights = np.where(long, 1.0 / len(self.symbols), 0.0)
        confidence = np.where(ready, np.minimum(np.abs(np.nan_to_num(mom)) * 5.0, 1.0), 0.0)

        def explain(i: int) -> str:  # asked only for symbols whose target changed
            if not ready[i]:
                return f"warming up: momentum needs {self.lookback} bars"
            side = "long" if long[i] else "flat"
            vs = f"close {close[i]:.2f} vs {self.trend} {trend[i]:.2f}"
            return f"{side}: {self.lookback}-bar return {mom[i]:+.1%}, {vs}"

        return Decision(weights=weights, confidence=confidence, explain=explain)
