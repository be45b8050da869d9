"""What the feature pipeline reads: the universe's bars as (T, N) arrays plus point-in-time side data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from papertrader.core.errors import DataError
from papertrader.features.technical import PriceArrays
from papertrader.features.times import decision_times, utc_index


@dataclass(frozen=True)
class External:
    """Side data in the lake's conventions; each is optional unless the spec's family needs it.

    macro: series name -> frame(date = REFERENCE date, value); fundamentals: symbol, available_at,
    fiscal_date_ending, metric columns; news: symbol, published_at, sentiment, relevance;
    earnings: symbol, report_date, optional announced_at.
    """

    macro: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    fundamentals: pd.DataFrame | None = None
    news: pd.DataFrame | None = None
    earnings: pd.DataFrame | None = None


@dataclass(frozen=True)
class FeatureInputs:
    """Bars of the universe on one time grid (ts = bar START, UTC) and the side data to join to them."""

    symbols: tuple[str, ...]
    interval: str
    ts: pd.DatetimeIndex
    prices: PriceArrays
    external: External = field(default_factory=External)

    def __post_init__(self) -> None:
        ts = utc_index(self.ts)
        object.__setattr__(self, "ts", ts)
        shape = (len(ts), len(self.symbols))
        for name in ("open", "high", "low", "close", "volume"):
            if getattr(self.prices, name).shape != shape:
                raise DataError(f"prices.{name} must have shape {shape} (rows = ts, columns = symbols)")
        if len(ts) > 1 and not bool(np.all(np.diff(ts.asi8) > 0)):
            raise DataError("bar timestamps must be strictly increasing")

    def __len__(self) -> int:
        return len(self.ts)

    def decision_times(self) -> pd.DatetimeIndex:
        """When each row's bar is complete (the time a decision at that row is taken)."""
        return decision_times(self.ts, self.interval)

    def head(self, rows: int) -> FeatureInputs:
        """The first `rows` rows (side data untouched): what was known up to and including that row."""
        p = self.prices
        cut = PriceArrays(*(a[:rows] for a in (p.open, p.high, p.low, p.close, p.volume)))
        return replace(self, ts=self.ts[:rows], prices=cut)

    def with_external(self, external: External) -> FeatureInputs:
        """The same bars with other side data."""
        return replace(self, external=external)

    @classmethod
    def from_long(
        cls,
        bars: pd.DataFrame,
        interval: str,
        external: External | None = None,
        symbols: tuple[str, ...] | None = None,
    ) -> FeatureInputs:
        """Pivot long bars (symbol, ts, open..volume) onto the union of their timestamps."""
        wanted = symbols or tuple(sorted(str(s) for s in bars["symbol"].unique()))
        wide = bars.pivot(index="ts", columns="symbol", values=["open", "high", "low", "close", "volume"])
        wide = wide.sort_index()
        arrays = [
            np.ascontiguousarray(pd.DataFrame(wide[f]).reindex(columns=list(wanted)).to_numpy(np.float64))
            for f in ("open", "high", "low", "close", "volume")
        ]
        return cls(wanted, interval, pd.DatetimeIndex(wide.index), PriceArrays(*arrays), external or External())
