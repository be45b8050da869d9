"""Capital buckets: core equities, ETFs, speculative/penny and a cash reserve, each with a cap."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from papertrader.core.arrays import Array


class Bucket(IntEnum):
    CORE = 0
    ETF = 1
    SPECULATIVE = 2


def classify(symbols: Sequence[str], prices: Array, etfs: Collection[str], penny_below: float) -> npt.NDArray[np.int_]:
    """Bucket per symbol: listed ETFs, then penny stocks by price (as of now), else core equities."""
    out = np.full(len(symbols), int(Bucket.CORE))
    for i, symbol in enumerate(symbols):
        if symbol in etfs:
            out[i] = Bucket.ETF
        elif np.isfinite(prices[i]) and prices[i] < penny_below:
            out[i] = Bucket.SPECULATIVE
    return out


def cap_groups(weights: Array, groups: npt.NDArray[np.int_], caps: dict[int, float]) -> tuple[Array, dict[int, float]]:
    """Scale each group's weights down so its gross weight is at most its cap; returns what each asked."""
    out = weights.copy()
    asked: dict[int, float] = {}
    for group, cap in caps.items():
        members = groups == group
        gross = float(np.abs(out[members]).sum())
        if gross > cap + 1e-12:
            asked[group] = gross
            out[members] *= cap / gross
    return out, asked
