"""Company fundamentals as of the moment they became public (the frame's `available_at`).

Input rows (data.ports.FundamentalsSource): symbol, available_at (UTC), fiscal_date_ending, then metric
columns; the column names this module reads are set in `FundamentalsSpec` (missing columns simply give
missing features). A report is visible to a bar only if available_at + delay_days <= the bar's START
time. The default delay of one day exists because vendors stamp report dates at day resolution and many
companies report after the close: a date-only stamp must not be used by that same day's close decision.
Use delay_days=0 when available_at is the exact publication instant.

Restatements (a later row for a fiscal period already seen) replace the earlier numbers from their own
availability time on; trailing-twelve-month sums use the four latest fiscal quarters known at that time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from papertrader.core.arrays import Array, IntArray
from papertrader.core.errors import ConfigError, DataError
from papertrader.features.times import NS_PER_DAY

#: the per-report values kept for the as-of join (price-dependent ratios are formed per bar)
_SNAPSHOT: Final = ("eps_ttm", "eps_growth_yoy", "roe", "liab_to_equity", "liab_to_assets", "eps_surprise")
_QUARTER_SPAN_DAYS: Final = 300  # four consecutive fiscal quarters end within ~273 days
_YEAR_AGO_DAYS: Final = (330, 400)


@dataclass(frozen=True, slots=True)
class FundamentalsSpec:
    """Which columns hold which metric, and the availability delay."""

    delay_days: float = 1.0
    eps: str = "reported_eps"
    eps_estimate: str = "estimated_eps"
    net_income: str = "net_income"
    equity: str = "total_equity"
    liabilities: str = "total_liabilities"
    assets: str = "total_assets"

    def __post_init__(self) -> None:
        if self.delay_days < 0:
            raise ConfigError("fundamentals.delay_days must be >= 0")

    def names(self) -> tuple[str, ...]:
        """Column names, in a stable order."""
        return (
            "fund_pe",
            "fund_earnings_yield",
            "fund_eps_growth_yoy",
            "fund_roe",
            "fund_liab_to_equity",
            "fund_liab_to_assets",
            "fund_eps_surprise",
            "fund_days_since_report",
        )


@dataclass(frozen=True)
class ReportTable:
    """Every symbol's report snapshots in availability order, flattened, for as-of lookups."""

    effective: IntArray  # (K,) UTC ns, sorted within each symbol
    symbol: npt.NDArray[np.intp]  # (K,) column index
    values: Array  # (K, len(_SNAPSHOT))
    starts: npt.NDArray[np.intp]  # (N + 1,) slice of each symbol's rows


def _ttm(quarters: list[tuple[int, float]]) -> float:
    """Sum of the four latest fiscal quarters, if they are consecutive enough to be one year."""
    if len(quarters) < 4:
        return np.nan
    last4 = quarters[-4:]
    if last4[-1][0] - last4[0][0] > _QUARTER_SPAN_DAYS:
        return np.nan
    return float(sum(v for _, v in last4))


def _latest(state: dict[int, dict[str, float]], col: str) -> tuple[int, float] | None:
    for fd in sorted(state, reverse=True):
        v = state[fd].get(col, np.nan)
        if np.isfinite(v):
            return fd, v
    return None


def _snapshot(state: dict[int, dict[str, float]], spec: FundamentalsSpec) -> list[float]:
    """Derived metrics from everything known so far (keyed by fiscal period end, in days)."""

    def series(col: str) -> list[tuple[int, float]]:
        return [(fd, state[fd][col]) for fd in sorted(state) if np.isfinite(state[fd].get(col, np.nan))]

    eps = series(spec.eps)
    eps_ttm = _ttm(eps)
    growth = np.nan
    if eps:
        fd, e = eps[-1]
        lo, hi = _YEAR_AGO_DAYS
        ago = [v for d, v in eps if lo <= fd - d <= hi]
        if ago and ago[-1] != 0:
            growth = (e - ago[-1]) / abs(ago[-1])
    ni_ttm = _ttm(series(spec.net_income))
    equity = _latest(state, spec.equity)
    liab = _latest(state, spec.liabilities)
    assets = _latest(state, spec.assets)
    eq = equity[1] if equity else np.nan
    roe = ni_ttm / eq if eq > 0 else np.nan
    l2e = liab[1] / eq if liab and eq > 0 else np.nan
    l2a = liab[1] / assets[1] if liab and assets and assets[1] > 0 else np.nan
    surprise = np.nan
    for fd in sorted(state, reverse=True):
        rep, est = state[fd].get(spec.eps, np.nan), state[fd].get(spec.eps_estimate, np.nan)
        if np.isfinite(rep) and np.isfinite(est):
            surprise = (rep - est) / abs(est) if est != 0 else np.nan
            break
    return [eps_ttm, growth, roe, l2e, l2a, surprise]


def build_reports(frame: pd.DataFrame, symbols: tuple[str, ...], spec: FundamentalsSpec) -> ReportTable:
    """Per-report snapshots of what was known, stamped with when it became usable (available_at + delay)."""
    need = {"symbol", "available_at", "fiscal_date_ending"}
    if not need <= set(frame.columns):
        raise DataError(f"fundamentals need columns {sorted(need)} (got {sorted(frame.columns)})")
    wanted = (spec.eps, spec.eps_estimate, spec.net_income, spec.equity, spec.liabilities, spec.assets)
    metrics = [c for c in wanted if c in frame.columns]
    frame = frame.loc[frame["symbol"].isin(symbols)].copy()
    avail = pd.to_datetime(frame["available_at"], utc=True)
    if avail.isna().any():
        raise DataError("fundamentals rows need an available_at (when the numbers became public)")
    frame["_eff"] = avail.astype("int64") + int(spec.delay_days * NS_PER_DAY)
    fiscal = pd.to_datetime(frame["fiscal_date_ending"]).dt.tz_localize(None)
    frame["_fd"] = fiscal.astype("int64") // NS_PER_DAY
    frame = frame.sort_values(["symbol", "_eff", "_fd"], kind="mergesort")
    effective: list[int] = []
    sym_idx: list[int] = []
    rows: list[list[float]] = []
    starts = [0]
    index = {s: j for j, s in enumerate(symbols)}
    groups = {str(k): g for k, g in frame.groupby("symbol", sort=False)}
    for symbol in symbols:
        g = groups.get(symbol)
        if g is not None:
            state: dict[int, dict[str, float]] = {}
            eff = g["_eff"].to_numpy(dtype=np.int64)
            fds = g["_fd"].to_numpy(dtype=np.int64)
            vals = {c: pd.to_numeric(g[c], errors="coerce").to_numpy(dtype=np.float64) for c in metrics}
            for i in range(len(g)):
                known = state.setdefault(int(fds[i]), {})
                for c in metrics:
                    if np.isfinite(vals[c][i]):
                        known[c] = float(vals[c][i])
                if i + 1 < len(g) and eff[i + 1] == eff[i]:
                    continue  # several rows published together: one snapshot after all of them
                effective.append(int(eff[i]))
                sym_idx.append(index[symbol])
                rows.append(_snapshot(state, spec))
        starts.append(len(effective))
    return ReportTable(
        effective=np.asarray(effective, dtype=np.int64),
        symbol=np.asarray(sym_idx, dtype=np.intp),
        values=np.asarray(rows, dtype=np.float64).reshape(len(rows), len(_SNAPSHOT)),
        starts=np.asarray(starts, dtype=np.intp),
    )


def latest_report(table: ReportTable, t_ns: IntArray) -> npt.NDArray[np.intp]:
    """(T, N) row index into the table of each symbol's latest usable snapshot at each time (-1: none)."""
    n = table.starts.size - 1
    out = np.full((t_ns.size, n), -1, dtype=np.intp)
    for j in range(n):
        lo, hi = table.starts[j], table.starts[j + 1]
        if hi > lo:
            pos = np.searchsorted(table.effective[lo:hi], t_ns, side="right")
            out[:, j] = np.where(pos > 0, lo + pos - 1, -1)
    return out


def fundamentals_at(table: ReportTable, idx: npt.NDArray[np.intp], close: Array, t_ns: IntArray) -> dict[str, Array]:
    """Features from the snapshot index of each (time, symbol) and that bar's close (price ratios)."""
    have = idx >= 0
    safe = np.where(have, idx, 0)

    def take(col: int) -> Array:
        if table.values.shape[0] == 0:
            return np.full(idx.shape, np.nan)
        return np.where(have, table.values[safe, col], np.nan)

    eps_ttm = take(0)
    t = t_ns.reshape((-1,) + (1,) * (idx.ndim - 1)) if idx.ndim > 1 else t_ns
    with np.errstate(divide="ignore", invalid="ignore"):
        pe = np.where(eps_ttm > 0, close / eps_ttm, np.nan)
        ey = eps_ttm / close
    eff = np.where(have, table.effective[safe] if table.effective.size else 0, 0)
    since = np.where(have, (t - eff) / NS_PER_DAY, np.nan)
    return {
        "fund_pe": pe,
        "fund_earnings_yield": ey,
        "fund_eps_growth_yoy": take(1),
        "fund_roe": take(2),
        "fund_liab_to_equity": take(3),
        "fund_liab_to_assets": take(4),
        "fund_eps_surprise": take(5),
        "fund_days_since_report": since,
    }


class FundamentalsState:
    """Advances each symbol's latest usable report one cycle at a time (no search over history)."""

    def __init__(self, table: ReportTable) -> None:
        self.table = table
        order = np.argsort(table.effective, kind="stable")
        self._order = order
        self._sorted = table.effective[order]
        self._pos = 0
        self._current = np.full(table.starts.size - 1, -1, dtype=np.intp)

    def update(self, t_ns: int, close: Array) -> dict[str, Array]:
        """Features at one bar start for every symbol."""
        end = int(np.searchsorted(self._sorted, t_ns, side="right"))
        if end > self._pos:
            rows = self._order[self._pos : end]
            cols = self.table.symbol[rows]
            np.maximum.at(self._current, cols, rows)
            self._pos = end
        return fundamentals_at(self.table, self._current, close, np.asarray(t_ns, dtype=np.int64))
