"""The honest baseline: long when the fast moving average is above the slow one, flat otherwise."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

import numpy as np

from papertrader.core.arrays import Array
from papertrader.features.view import FeatureView
from papertrader.signals.base import Decision


class TrendFollowing:
    """Moving-average crossover, equal weight across the universe; no parameter fitted to any data."""

    def __init__(self, n_symbols: int, fast: int = 20, slow: int = 50) -> None:
        if fast >= slow:
            raise ValueError("fast must be shorter than slow")
        self.n_symbols = n_symbols
        self.fast = fast
        self.slow = slow
        self.name = f"trend_sma_{fast}_{slow}"
        self._names = (f"sma_{fast}", f"sma_{slow}")

    def required_features(self) -> tuple[str, ...]:
        """The two moving averages."""
        return self._names

    def decide(self, ts: datetime, view: FeatureView) -> Decision:
        """Long 1/N where fast > slow; flat where it is not or the averages are not yet defined."""
        fast = view.now(self._names[0])
        slow = view.now(self._names[1])
        if fast.shape == (1,) and slow.shape == (1,):
            return self._decide_one(fast, slow)
        return self._decide_many(fast, slow)

    def _decide_many(self, fast: Array, slow: Array) -> Decision:
        """`decide` on arrays (any universe)."""
        ready = np.isfinite(fast) & np.isfinite(slow)
        up = fast > slow  # False wherever either is NaN
        weights = np.where(up, 1.0 / self.n_symbols, 0.0)
        confidence = np.minimum(np.abs(fast / slow - 1.0) * 20.0, 1.0)  # NaN propagates without a warning
        confidence[~ready] = 0.0

        def explain(i: int) -> str:
            if not ready[i]:
                return f"warming up: sma{self.slow} needs {self.slow} bars"
            relation = ">" if up[i] else "<="
            return f"sma{self.fast} {fast[i]:.4f} {relation} sma{self.slow} {slow[i]:.4f}"

        return Decision(weights=weights, confidence=confidence, explain=explain)

    def _decide_one(self, fast: Array, slow: Array) -> Decision:
        """`decide` for one symbol in plain floats (numpy's per-call cost dominates there): the same IEEE operations
        on the one element, so the same weight and confidence bits (tests/unit/signals/test_trend_one.py)."""
        f, s = float(fast[0]), float(slow[0])
        ready = math.isfinite(f) and math.isfinite(s)
        up = f > s
        weight = 1.0 / self.n_symbols if up else 0.0
        if not ready:
            confidence = 0.0
        elif s == 0.0:  # numpy's x / 0 (inf or NaN, no exception), then the same clip
            confidence = float(np.minimum(np.abs(fast / slow - 1.0) * 20.0, 1.0)[0])
        else:
            ratio = abs(f / s - 1.0) * 20.0
            confidence = ratio if ratio < 1.0 or ratio != ratio else 1.0  # np.minimum keeps NaN

        def explain(i: int) -> str:
            if not ready:
                return f"warming up: sma{self.slow} needs {self.slow} bars"
            relation = ">" if up else "<="
            return f"sma{self.fast} {fast[i]:.4f} {relation} sma{self.slow} {slow[i]:.4f}"

        return Decision(weights=np.array([weight]), confidence=np.array([confidence]), explain=explain)

    def decide_all(self, features: Mapping[str, Array]) -> Array:
        """Every cycle's weights at once (row k reads row k of the averages only): the engine skips quiet cycles."""
        fast = np.asarray(features[self._names[0]], dtype=np.float64)
        slow = np.asarray(features[self._names[1]], dtype=np.float64)
        return np.where(fast > slow, 1.0 / self.n_symbols, 0.0)
