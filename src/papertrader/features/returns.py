"""Return-based features: lagged log returns, momentum, realised volatility and the session gap.

Everything is measured on each symbol's own bars (a horizon of h means h of that symbol's bars), and
the value at a bar uses that bar's close and earlier bars only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from papertrader.core.arrays import Array, IntArray
from papertrader.core.errors import ConfigError
from papertrader.features.history import BarHistory, Depths
from papertrader.features.technical import PriceArrays, per_symbol
from papertrader.features.volatility import rolling_std, std_along


@dataclass(frozen=True, slots=True)
class ReturnSpec:
    """Which lags, momentum horizons and volatility windows to build, in bars."""

    lags: int = 5
    momentum: tuple[int, ...] = (5, 21, 63, 126, 252)
    rvol: tuple[int, ...] = (20,)
    gap: bool = True

    def __post_init__(self) -> None:
        if self.lags < 0 or any(h < 1 for h in self.momentum) or any(w < 2 for w in self.rvol):
            raise ConfigError("returns: lags >= 0, momentum horizons >= 1 and rvol windows >= 2")
        if len(set(self.momentum)) != len(self.momentum) or len(set(self.rvol)) != len(self.rvol):
            raise ConfigError("returns: momentum horizons and rvol windows must be unique")

    def names(self) -> tuple[str, ...]:
        """Column names, in a stable order."""
        return (
            *(f"logret_lag{k}" for k in range(self.lags)),
            *(f"mom_{h}" for h in self.momentum),
            *(f"rvol_{w}" for w in self.rvol),
            *(("gap_session",) if self.gap else ()),
        )

    def depths(self) -> Depths:
        """How many own bars per field the streaming state must remember."""
        return Depths(
            open=1,
            close=max(2, *(h + 1 for h in self.momentum)),
            logret=max(1, self.lags, *self.rvol),
        )


def _one(
    spec: ReturnSpec, days: IntArray, rows_of: list[npt.NDArray[np.intp]]
) -> Callable[[PriceArrays, int], dict[str, Array]]:
    def run(p: PriceArrays, j: int) -> dict[str, Array]:
        c, o = p.close, p.open
        n = c.size
        r = np.full(n, np.nan)
        r[1:] = np.log(c[1:] / c[:-1])
        out: dict[str, Array] = {}
        for k in range(spec.lags):
            lagged = np.full(n, np.nan)
            if n > k:
                lagged[k:] = r[: n - k]
            out[f"logret_lag{k}"] = lagged
        for h in spec.momentum:
            mom = np.full(n, np.nan)
            if n > h:
                mom[h:] = np.log(c[h:] / c[:-h])
            out[f"mom_{h}"] = mom
        for w in spec.rvol:
            rv = np.full(n, np.nan)
            if n > w:
                rv[w:] = rolling_std(r[1:], w, ddof=0, demean=False)[w - 1 :]
            out[f"rvol_{w}"] = rv
        if spec.gap:
            d = days[rows_of[j]]
            first = np.ones(n, dtype=bool)
            first[1:] = d[1:] != d[:-1]
            gap_at = np.full(n, np.nan)
            gap_at[1:] = np.log(o[1:] / c[:-1])
            start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
            out["gap_session"] = gap_at[start]
        return out

    return run


def compute_returns(prices: PriceArrays, session_days: IntArray, spec: ReturnSpec) -> dict[str, Array]:
    """Return features as (T, N) panels; session_days is the New York date of each row (times.ny_days)."""
    rows_of = [np.flatnonzero(np.isfinite(prices.close[:, j])) for j in range(prices.close.shape[1])]
    run = _one(spec, session_days, rows_of)
    return per_symbol(prices, run, spec.names())


class ReturnState:
    """The same features one cycle at a time for the whole universe."""

    def __init__(self, spec: ReturnSpec, n_symbols: int) -> None:
        self.spec = spec
        self._day = np.full(n_symbols, np.iinfo(np.int64).min, dtype=np.int64)
        self._gap = np.full(n_symbols, np.nan)

    def update(self, hist: BarHistory, session_day: int) -> dict[str, Array]:
        """Features at the newest cycle; hist is already pushed, session_day is the row's NY date."""
        spec, has, cnt = self.spec, hist.has, hist.count
        c = hist.close[-1]
        out: dict[str, Array] = {}
        for k in range(spec.lags):
            out[f"logret_lag{k}"] = np.where(has & (cnt >= k + 2), hist.logret[-1 - k], np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            for h in spec.momentum:
                out[f"mom_{h}"] = np.where(has & (cnt >= h + 1), np.log(c / hist.close[-1 - h]), np.nan)
        for w in spec.rvol:
            rv = std_along(hist.logret[-w:], axis=0, ddof=0, demean=False)
            out[f"rvol_{w}"] = np.where(has & (cnt >= w + 1), rv, np.nan)
        if spec.gap:
            new_session = has & (self._day != session_day)
            if new_session.any():
                o, pc = hist.open[-1, new_session], hist.close[-2, new_session]
                gap = np.where(cnt[new_session] >= 2, np.log(o / pc), np.nan)
                self._gap[new_session] = gap
                self._day[new_session] = session_day
            out["gap_session"] = np.where(has, self._gap, np.nan)
        return out
