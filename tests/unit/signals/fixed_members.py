"""Fake board members for the board's unit tests: fixed probabilities (synthetic), the same at every cycle."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from papertrader.features.view import FeatureView
from papertrader.signals.votes import Opinion, Timeframe

TS = datetime(2012, 1, 3, 21, tzinfo=UTC)
N = 3


class Fixed:
    """A fake member that always says the same thing (synthetic)."""

    def __init__(
        self, name: str, timeframe: Timeframe, up: list[float], down: list[float], exit_: list[bool] | None = None
    ) -> None:
        self.name = name
        self.timeframe: Timeframe = timeframe
        self.up, self.down = np.array(up), np.array(down)
        self.exit = np.array(exit_ or [False] * len(up), dtype=bool)

    def required_features(self) -> tuple[str, ...]:
        return ()

    def opine(self, ts: datetime, view: FeatureView) -> Opinion:
        return Opinion(self.name, self.timeframe, self.up, self.down, self.exit, lambda i: f"{self.name} says so")
