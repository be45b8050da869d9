"""The universe as (time x symbol) arrays, so a cycle touches every symbol with one slice."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from papertrader.core.errors import DataError
from papertrader.domain.sessions import bar_close_time, bar_open_time
from papertrader.execution.broker import BarSlice
from papertrader.features.technical import Array, PriceArrays

_FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Panel:
    """Aligned OHLCV arrays over the union of bar times; NaN where a symbol has no bar."""

    interval: str
    symbols: tuple[str, ...]
    ts: pd.DatetimeIndex
    prices: PriceArrays
    open_times: tuple[datetime, ...] = field(init=False, repr=False)
    close_times: tuple[datetime, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        stamps = [t.to_pydatetime() for t in self.ts]
        object.__setattr__(self, "open_times", tuple(bar_open_time(t, self.interval) for t in stamps))
        object.__setattr__(self, "close_times", tuple(bar_close_time(t, self.interval) for t in stamps))

    @classmethod
    def from_long(cls, bars: pd.DataFrame, interval: str, symbols: tuple[str, ...] | None = None) -> Panel:
        """Pivot long bars (symbol, ts, open..volume) into aligned arrays."""
        present = set(bars["symbol"].unique()) if not bars.empty else set()
        wanted = symbols or tuple(sorted(present))
        if not wanted:
            raise DataError(f"no {interval} bars to trade; run `papertrader data import` first")
        missing = sorted(set(wanted) - present)
        if missing:
            raise DataError(f"no {interval} bars for {', '.join(missing)}; import them or drop them")
        bars = bars[bars["symbol"].isin(wanted)]
        wide = bars.pivot(index="ts", columns="symbol", values=list(_FIELDS)).sort_index()
        index = pd.DatetimeIndex(wide.index)
        arrays = {}
        for f in _FIELDS:
            block = pd.DataFrame(wide[f]).reindex(columns=list(wanted))
            arrays[f] = np.ascontiguousarray(block.to_numpy(dtype=np.float64))
        return cls(interval, tuple(wanted), index, PriceArrays(**arrays))

    def append(self, bars: pd.DataFrame) -> Panel:
        """A longer panel with these later bars as new rows, so a live run grows without touching the past."""
        bars = bars[bars["symbol"].isin(self.symbols)]
        if bars.empty:
            return self
        wide = bars.pivot(index="ts", columns="symbol", values=list(_FIELDS)).sort_index()
        index = pd.DatetimeIndex(wide.index)
        if len(self.ts) and index[0] <= self.ts[-1]:
            raise DataError(f"bars at {index[0]} are not after the panel's last bar {self.ts[-1]}")
        arrays = {}
        for f in _FIELDS:
            block = pd.DataFrame(wide[f]).reindex(columns=list(self.symbols)).to_numpy(dtype=np.float64)
            arrays[f] = np.ascontiguousarray(np.vstack([getattr(self.prices, f), block]))
        return Panel(self.interval, self.symbols, pd.DatetimeIndex(self.ts.append(index)), PriceArrays(**arrays))

    def __len__(self) -> int:
        return len(self.ts)

    def bar(self, k: int) -> BarSlice:
        """Cycle k's bars with their open and close times."""
        p = self.prices
        return BarSlice(
            k=k,
            open_time=self.open_times[k],
            close_time=self.close_times[k],
            open=p.open[k],
            high=p.high[k],
            low=p.low[k],
            close=p.close[k],
            volume=p.volume[k],
        )

    def first_bar_opening_at_or_after(self, ts: datetime) -> int:
        """Index of the first bar an order created at ts may fill on (len(self) if none)."""
        return bisect.bisect_left(self.open_times, ts)

    def last_closes(self, upto: int) -> Array:
        """Each symbol's latest close at or before cycle `upto` (NaN if it has not traded yet)."""
        closes = pd.DataFrame(self.prices.close[: upto + 1]).ffill()
        return (
            np.asarray(closes.iloc[-1].to_numpy(dtype=np.float64)) if upto >= 0 else np.full(len(self.symbols), np.nan)
        )

    def sessions(self) -> int:
        """Number of distinct New York trading dates covered."""
        return int(self.ts.tz_convert("America/New_York").normalize().nunique())
