"""Market inputs a fill model needs besides the bar itself: quotes, volatility, volume and spread.

Everything here is built from data stamped BEFORE the bar being filled (the quote at the bar's own
open is the one exception: it is the price a market order meets at that open), so no fill can use
information a trader at that moment would not have had.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from papertrader.core.arrays import Array
from papertrader.execution.spreads import estimate_spread


@dataclass(frozen=True, slots=True)
class QuoteSlice:
    """Best bid and ask per symbol at one bar's open, in universe order; NaN where there is no quote."""

    bid: Array
    ask: Array

    def spread_bps(self) -> Array:
        """Full quoted spread in basis points of the mid (NaN where either side is missing or crossed)."""
        mid = (self.bid + self.ask) / 2.0
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = (self.ask - self.bid) / mid * 1e4
        return np.where((self.bid > 0) & (self.ask >= self.bid), spread, np.nan)


@dataclass(frozen=True, slots=True)
class MarketInputs:
    """Per-symbol estimates from past bars: return volatility, average volume and (optionally) spread.

    sigma and adv must share a horizon: daily volatility with average DAILY volume, or per-bar volatility
    with average per-bar volume. The square-root impact sigma * sqrt(q / adv) is the same either way.
    """

    sigma: Array
    adv: Array
    spread_bps: Array | None = None


def market_inputs(
    high: Array,
    low: Array,
    close: Array,
    volume: Array,
    upto: int,
    window: int,
    spread_method: str = "abdi_ranaldo",
    min_tick: float = 0.01,
) -> MarketInputs:
    """Volatility, average volume and spread from rows [upto - window, upto) of (T, N) panels: past only."""
    lo = max(0, upto - window)
    h, lw, c, v = (a[lo:upto] for a in (high, low, close, volume))
    n = close.shape[1]
    if len(c) < 2:
        nan = np.full(n, np.nan)
        return MarketInputs(nan, nan.copy(), nan.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        returns = np.diff(np.log(c), axis=0)
        sigma = np.asarray(np.nanstd(returns, axis=0, ddof=1), dtype=np.float64)
        adv = np.asarray(np.nanmean(v, axis=0), dtype=np.float64)
    spread = estimate_spread(h, lw, c, spread_method, min_tick) * 1e4
    return MarketInputs(sigma, adv, spread)


class TrailingWindow:
    """The last `size` bars the broker has worked, so it can estimate its own inputs without the caller."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._rows: Array | None = None  # (4, size, N): high, low, close, volume in a ring
        self._count = 0

    def __len__(self) -> int:
        return min(self._count, self.size)

    def observe(self, high: Array, low: Array, close: Array, volume: Array) -> None:
        """Append one bar's arrays (call after the bar has been filled against, never before)."""
        if self._rows is None:
            self._rows = np.full((4, self.size, len(close)), np.nan)
        slot = self._count % self.size
        for j, values in enumerate((high, low, close, volume)):
            self._rows[j, slot] = values
        self._count += 1

    def inputs(self, spread_method: str, min_tick: float) -> MarketInputs | None:
        """Estimates from the bars seen so far, or None before there are two of them."""
        n = len(self)
        if self._rows is None or n < 2:
            return None
        if self._count <= self.size:
            rows = self._rows[:, :n]
        else:
            head = self._count % self.size
            rows = np.concatenate([self._rows[:, head:], self._rows[:, :head]], axis=1)
        h, lw, c, v = rows
        return market_inputs(h, lw, c, v, n, n, spread_method, min_tick)


class QuotePanel:
    """Bid and ask at each bar's open for a universe, aligned to the bar stamps the engine iterates."""

    def __init__(self, symbols: Sequence[str], stamps: pd.DatetimeIndex, bid: Array, ask: Array) -> None:
        self.symbols = tuple(symbols)
        self.stamps = stamps
        self.bid = bid
        self.ask = ask

    @classmethod
    def from_long(cls, quotes: pd.DataFrame, symbols: Sequence[str], stamps: pd.DatetimeIndex) -> QuotePanel:
        """Pivot long quote bars (symbol, ts, bid_open, ask_open) onto the bar stamps; NaN where missing."""
        wide = quotes.pivot_table(index="ts", columns="symbol", values=["bid_open", "ask_open"], aggfunc="last")
        arrays = []
        for side in ("bid_open", "ask_open"):
            block = pd.DataFrame(wide[side]).reindex(index=stamps, columns=list(symbols))
            arrays.append(np.ascontiguousarray(block.to_numpy(dtype=np.float64)))
        return cls(symbols, stamps, arrays[0], arrays[1])

    def at(self, k: int) -> QuoteSlice:
        """The quotes at bar k's open."""
        return QuoteSlice(self.bid[k], self.ask[k])

    def at_time(self, ts: datetime) -> QuoteSlice | None:
        """The quotes stamped exactly at ts, if any."""
        hits = self.stamps.get_indexer(pd.DatetimeIndex([pd.Timestamp(ts)]))
        return None if hits[0] < 0 else self.at(int(hits[0]))
