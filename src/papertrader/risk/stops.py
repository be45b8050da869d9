"""ATR-based protective levels attached to every entry."""

from __future__ import annotations

import math


def stop_levels(entry: float, atr: float, direction: int, stop_mult: float, take_mult: float) -> tuple[float, float]:
    """(stop-loss, take-profit) at stop_mult and take_mult ATRs against and for a long (+1) or short (-1)."""
    if not math.isfinite(atr) or atr <= 0 or direction == 0:
        raise ValueError("stop levels need a positive ATR and a direction")
    stop = entry - direction * stop_mult * atr
    take = entry + direction * take_mult * atr
    return max(stop, 0.01), max(take, 0.01)
