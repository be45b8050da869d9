"""An RSI board member: an example of a member plug-in voting on the AI board (docs/strategies.md).

Put it on the board beside the trend member (no trained model needed):

    PAPERTRADER_STRATEGY__NAME=ensemble PAPERTRADER_BOARD__MEMBERS='["trend", "rsi_member:RsiMember"]' \
        papertrader backtest --symbols AAPL,MSFT,IBM --start 2006-01-01 --end 2009-01-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from papertrader.features.view import FeatureView
from papertrader.signals.votes import Opinion, Timeframe


class RsiMember:
    """Oversold (RSI below `low`) leans up, overbought (above `high`) leans down; in between, no edge."""

    timeframe: Timeframe = "short"
    horizon_bars = 5  # the bars its P(up) / P(down) refer to (scoring and calibration labels)

    def __init__(self, symbols: Sequence[str], low: float = 30.0, high: float = 70.0) -> None:
        self.n = len(symbols)
        self.low, self.high = low, high

    def required_features(self) -> tuple[str, ...]:
        """The built-in 14-bar RSI."""
        return ("rsi_14",)

    def opine(self, ts: datetime, view: FeatureView) -> Opinion:
        """P(up), P(down) per symbol from the RSI at this bar; NaN (no view) while it warms up."""
        rsi = view.now("rsi_14")
        up = np.where(rsi < self.low, 0.6, np.where(rsi > self.high, 0.3, 0.45))
        down = np.where(rsi < self.low, 0.3, np.where(rsi > self.high, 0.6, 0.45))
        known = np.isfinite(rsi)
        up, down = np.where(known, up, np.nan), np.where(known, down, np.nan)
        return Opinion("rsi", self.timeframe, up, down, np.zeros(self.n, dtype=bool), lambda i: f"RSI {rsi[i]:.0f}")
