"""The universe as (time x symbol) arrays, so a cycle touches every symbol with one slice.

Two price views. ``prices`` are split- and dividend-ADJUSTED (continuous history: what features, models
and volatility read). When the bars carry an ``adj_factor`` or corporate actions are known, ``as_traded``
holds the RAW prints, the factor (adjusted = raw x factor) and each bar's splits and cash dividends;
``bar``, ``last_closes`` and ``traded`` then give the raw prices, so fills, fees, stops, marks and position
quantities use what traded that day, and the engine applies the actions to positions on their ex-dates.
Without factors or actions ``as_traded`` is None and both views are the same arrays.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from papertrader.core.arrays import Array
from papertrader.core.errors import DataError
from papertrader.domain.sessions import REGULAR_CLOSE, REGULAR_OPEN, interval_minutes
from papertrader.execution.broker import BarSlice
from papertrader.features.technical import PriceArrays

_FIELDS = ("open", "high", "low", "close", "volume")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NEW_YORK_NAME = "America/New_York"
_NS_PER_US = 1_000


class BarTimes(Sequence[datetime]):
    """Bar times as int64 nanoseconds since the epoch (UTC), with a datetime built only for the one asked for.

    A backtest reads few of them (the cycles it steps, the records it stores), so a datetime object per bar would
    be memory and setup time spent on nothing. Equal to the tuple of UTC datetimes it stands for, element by element.
    """

    __slots__ = ("_base", "_offset")

    def __init__(self, ns: npt.NDArray[np.int64], offset: int = 0) -> None:
        self._base = np.asarray(ns, dtype=np.int64)
        self._offset = offset  # a constant added to every time (close = open + the interval shares one array)

    @property
    def ns(self) -> npt.NDArray[np.int64]:
        """The times as int64 nanoseconds since the epoch, UTC."""
        return self._base + self._offset if self._offset else self._base

    def __len__(self) -> int:
        return len(self._base)

    @overload
    def __getitem__(self, k: int) -> datetime: ...

    @overload
    def __getitem__(self, k: slice) -> BarTimes: ...

    def __getitem__(self, k: int | slice) -> datetime | BarTimes:
        if isinstance(k, slice):
            return BarTimes(self._base[k], self._offset)
        return _EPOCH + timedelta(microseconds=(int(self._base[k]) + self._offset) // _NS_PER_US)

    def __iter__(self) -> Iterator[datetime]:
        for value in self._base.tolist():
            yield _EPOCH + timedelta(microseconds=(value + self._offset) // _NS_PER_US)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BarTimes):
            return bool(np.array_equal(self.ns, other.ns))
        if isinstance(other, Sequence):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-array backed, like a list

    def __repr__(self) -> str:
        return f"BarTimes({len(self)} from {self[0] if len(self) else None})"

    def bisect_left(self, ts: datetime) -> int:
        """Index of the first time at or after ts (bisect.bisect_left on the datetimes, on integers)."""
        return int(np.searchsorted(self.ns, _to_ns(ts), side="left"))

    def append(self, more: BarTimes) -> BarTimes:
        """These times followed by more."""
        return BarTimes(np.concatenate([self.ns, more.ns]))

    def drop_head(self, m: int) -> BarTimes:
        """These times without the first m, in a copy (the old array is not kept alive by a view)."""
        return BarTimes(self._base[m:].copy(), self._offset)


def _to_ns(ts: datetime) -> int:
    """A timezone-aware datetime as int64 nanoseconds since the epoch."""
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * _NS_PER_US


def bar_times(ts: pd.DatetimeIndex, interval: str) -> tuple[BarTimes, BarTimes]:
    """(open, close) times of bars stamped ts, as `bar_open_time` / `bar_close_time` give them, computed in bulk."""
    stamps = ts if ts.tz is not None else ts.tz_localize("UTC")
    ns = stamps.tz_convert("UTC").asi8.astype(np.int64)
    ns = ns - ns % _NS_PER_US  # a datetime holds microseconds: the time as a datetime would keep it
    if interval != "1d":
        return BarTimes(ns), BarTimes(ns, interval_minutes(interval) * 60 * 1_000_000_000)
    # a daily bar opens and closes at the regular session's times on its New York date
    days = stamps.tz_convert(NEW_YORK_NAME).tz_localize(None).normalize()
    opens = _wall_times(days, REGULAR_OPEN.hour, REGULAR_OPEN.minute)
    closes = _wall_times(days, REGULAR_CLOSE.hour, REGULAR_CLOSE.minute)
    return BarTimes(opens), BarTimes(closes)


def _wall_times(days: pd.DatetimeIndex, hour: int, minute: int) -> npt.NDArray[np.int64]:
    """New York wall time hour:minute on each day, as UTC nanoseconds."""
    wall = days + pd.Timedelta(hours=hour, minutes=minute)
    return np.asarray(wall.tz_localize(NEW_YORK_NAME).tz_convert("UTC").asi8, dtype=np.int64)


@dataclass
class _Backing:
    """Capacity-doubled (capacity, N) arrays a live panel's prices are views of, and how many rows are filled."""

    arrays: dict[str, Array]
    filled: int


@dataclass(frozen=True)
class AsTraded:
    """Raw prints, the adjustment factor and the corporate actions of each (bar, symbol)."""

    prices: PriceArrays
    #: (T, N) adjusted / raw (1 where unknown): divides adjusted price distances (ATR) into traded dollars
    factor: Array
    #: (T, N) new shares per old share taking effect at the open of bar t (1 = none)
    splits: Array
    #: (T, N) cash per (post-split) share going ex at bar t (0 = none)
    dividends: Array


@dataclass(frozen=True)
class Panel:
    """Aligned OHLCV arrays over the union of bar times; NaN where a symbol has no bar."""

    interval: str
    symbols: tuple[str, ...]
    ts: pd.DatetimeIndex
    prices: PriceArrays
    as_traded: AsTraded | None = None
    open_times: BarTimes = field(init=False, repr=False)
    close_times: BarTimes = field(init=False, repr=False)
    #: (open_times, close_times) already known (append computes only the new rows')
    _times: tuple[BarTimes, BarTimes] | None = field(default=None, repr=False, compare=False)
    #: where `append` writes new rows without copying the old ones (None: not grown yet)
    _backing: _Backing | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._times is not None:
            object.__setattr__(self, "open_times", self._times[0])
            object.__setattr__(self, "close_times", self._times[1])
            object.__setattr__(self, "_times", None)
            return
        opens, closes = bar_times(self.ts, self.interval)
        object.__setattr__(self, "open_times", opens)
        object.__setattr__(self, "close_times", closes)

    @classmethod
    def from_long(
        cls,
        bars: pd.DataFrame,
        interval: str,
        symbols: tuple[str, ...] | None = None,
        actions: pd.DataFrame | None = None,
    ) -> Panel:
        """Pivot long bars (symbol, ts, open..volume) into aligned arrays.

        Bars with an ``adj_factor`` column are RAW prints: the panel's ``prices`` become raw x factor (volume
        / factor), ``as_traded`` keeps the raw ones and places ``actions`` (symbol, ts = ex-date,
        split_ratio, dividend) on each symbol's first bar at or after the ex-date.
        """
        present = set(bars["symbol"].unique()) if not bars.empty else set()
        wanted = symbols or tuple(sorted(present))
        if not wanted:
            raise DataError(f"no {interval} bars to trade; run `papertrader data import` first")
        missing = sorted(set(wanted) - present)
        if missing:
            raise DataError(f"no {interval} bars for {', '.join(missing)}; import them or drop them")
        bars = bars[bars["symbol"].isin(wanted)]
        if len(wanted) == 1:
            index, arrays = _column(bars)  # one symbol: the pivot's arrays without the reshape
        else:
            wide = bars.pivot(index="ts", columns="symbol", values=list(_FIELDS)).sort_index()
            index = pd.DatetimeIndex(wide.index)
            arrays = {}
            for f in _FIELDS:
                block = pd.DataFrame(wide[f]).reindex(columns=list(wanted))
                arrays[f] = np.ascontiguousarray(block.to_numpy(dtype=np.float64))
        raw = PriceArrays(**arrays)
        has_actions = actions is not None and not actions.empty and bool(actions["symbol"].isin(wanted).any())
        if "adj_factor" not in bars.columns and not has_actions:
            return cls(interval, tuple(wanted), index, raw)
        factor = np.ones_like(raw.close)
        if "adj_factor" in bars.columns:
            table = bars.pivot(index="ts", columns="symbol", values="adj_factor").sort_index()
            known = pd.DataFrame(table).reindex(index=index, columns=list(wanted)).to_numpy(dtype=np.float64)
            factor = np.ascontiguousarray(np.where(np.isfinite(known) & (known > 0), known, 1.0))
        splits, dividends = _place_actions(actions, index, tuple(wanted), raw.close)
        if bool((factor == 1.0).all()) and bool((splits == 1.0).all()) and bool((dividends == 0.0).all()):
            return cls(interval, tuple(wanted), index, raw)
        adjusted = PriceArrays(
            **{f: np.ascontiguousarray(getattr(raw, f) * factor) for f in ("open", "high", "low", "close")},
            volume=np.ascontiguousarray(raw.volume / factor),
        )
        return cls(interval, tuple(wanted), index, adjusted, AsTraded(raw, factor, splits, dividends))

    @property
    def traded(self) -> PriceArrays:
        """The prices that traded each bar (raw prints): what fills, fees, marks and quantities use."""
        return self.as_traded.prices if self.as_traded is not None else self.prices

    def append(self, bars: pd.DataFrame) -> Panel:
        """A longer panel with these later bars as new rows, so a live run grows without touching the past.

        The prices are views of capacity-doubled arrays: appending m rows writes m rows (the old ones are
        copied only when the capacity doubles, or when this panel was already grown once by another append).
        """
        if self.as_traded is not None:
            raise DataError("a panel with raw prints and corporate actions cannot grow live yet")
        bars = bars[bars["symbol"].isin(self.symbols)]
        if bars.empty:
            return self
        index, blocks = _scatter(bars, self.symbols)  # what a pivot on (ts, symbol) gives, without pandas' reshape
        if len(self.ts) and index[0] <= self.ts[-1]:
            raise DataError(f"bars at {index[0]} are not after the panel's last bar {self.ts[-1]}")
        old, m, n = len(self.ts), len(index), len(self.symbols)
        back = self._backing
        if back is None or back.filled != old or old + m > back.arrays["close"].shape[0] or not _views_of(back, self):
            capacity = max(16, 2 * (old + m))
            grown = {f: np.full((capacity, n), np.nan) for f in _FIELDS}
            for f in _FIELDS:
                grown[f][:old] = getattr(self.prices, f)
            back = _Backing(grown, old)
        for f in _FIELDS:
            back.arrays[f][old : old + m] = blocks[f]
        back.filled = old + m
        opens, closes = bar_times(index, self.interval)
        times = (self.open_times.append(opens), self.close_times.append(closes))
        prices = PriceArrays(**{f: back.arrays[f][: old + m] for f in _FIELDS})
        return Panel(
            self.interval, self.symbols, pd.DatetimeIndex(self.ts.append(index)), prices, _times=times, _backing=back
        )

    def drop_head(self, m: int) -> Panel:
        """This panel without its first m rows, copied into fresh capacity-doubled arrays (a bounded live panel:
        the old buffers, times and index are freed, so memory stays at the rows a run can still read)."""
        if self.as_traded is not None:
            raise DataError("a panel with raw prints and corporate actions cannot grow live yet")
        if not 0 <= m <= len(self):
            raise ValueError(f"cannot drop {m} of {len(self)} rows")
        if m == 0:
            return self
        left, n = len(self) - m, len(self.symbols)
        capacity = max(16, 2 * left)
        back = _Backing({f: np.full((capacity, n), np.nan) for f in _FIELDS}, left)
        for f in _FIELDS:
            back.arrays[f][:left] = getattr(self.prices, f)[m:]
        prices = PriceArrays(**{f: back.arrays[f][:left] for f in _FIELDS})
        times = (self.open_times.drop_head(m), self.close_times.drop_head(m))
        index = pd.DatetimeIndex(self.ts.asi8[m:].copy(), dtype=self.ts.dtype)
        return Panel(self.interval, self.symbols, index, prices, _times=times, _backing=back)

    def __len__(self) -> int:
        return len(self.ts)

    def bar(self, k: int) -> BarSlice:
        """Cycle k's bars as traded, with their open and close times (what the broker fills against)."""
        p = self.traded
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
        return self.open_times.bisect_left(ts)

    def last_closes(self, upto: int) -> Array:
        """Each symbol's latest traded close at or before cycle `upto` (NaN if it has not traded yet): a mark."""
        closes = pd.DataFrame(self.traded.close[: upto + 1]).ffill()
        return (
            np.asarray(closes.iloc[-1].to_numpy(dtype=np.float64)) if upto >= 0 else np.full(len(self.symbols), np.nan)
        )

    def sessions(self) -> int:
        """Number of distinct New York trading dates covered."""
        return int(self.ts.tz_convert("America/New_York").normalize().nunique())


def _column(bars: pd.DataFrame) -> tuple[pd.DatetimeIndex, dict[str, Array]]:
    """One symbol's long bars as (T, 1) arrays per field on their sorted stamps: what `bars.pivot(index="ts",
    columns="symbol")` gives for one symbol (a stamp given twice is refused as the pivot refuses it)."""
    stamps = pd.DatetimeIndex(bars["ts"])
    if stamps.is_monotonic_increasing:
        order = None
    else:
        order = np.argsort(stamps.asi8, kind="stable")
        stamps = stamps[order]
    if len(stamps) > 1 and not stamps.is_unique:
        raise ValueError("Index contains duplicate entries, cannot reshape")
    arrays = {}
    for f in _FIELDS:
        values = bars[f].to_numpy(dtype=np.float64)
        arrays[f] = np.array((values if order is None else values[order]).reshape(-1, 1), order="C")  # a copy
    return stamps, arrays


def _scatter(bars: pd.DataFrame, symbols: tuple[str, ...]) -> tuple[pd.DatetimeIndex, dict[str, Array]]:
    """Long bars of known symbols as (m, N) blocks per field on their sorted distinct stamps (NaN: no bar).

    The blocks `bars.pivot(index="ts", columns="symbol")` reindexed to `symbols` would give; a (ts, symbol)
    pair given twice is refused as the pivot refuses it.
    """
    stamps = pd.DatetimeIndex(bars["ts"])
    index = stamps.unique().sort_values()
    rows = index.get_indexer(stamps)
    column = {s: j for j, s in enumerate(symbols)}
    cols = np.fromiter((column[s] for s in bars["symbol"]), dtype=np.intp, count=len(bars))
    cells = rows * len(symbols) + cols
    if np.unique(cells).size != cells.size:
        raise ValueError("Index contains duplicate entries, cannot reshape")
    blocks = {}
    for f in _FIELDS:
        block = np.full((len(index), len(symbols)), np.nan)
        block[rows, cols] = bars[f].to_numpy(dtype=np.float64)
        blocks[f] = block
    return index, blocks


def _views_of(back: _Backing, panel: Panel) -> bool:
    """Whether the panel's prices start at the backing arrays (a `dataclasses.replace` may have swapped them)."""
    return all(
        back.arrays[f].__array_interface__["data"][0] == getattr(panel.prices, f).__array_interface__["data"][0]
        for f in _FIELDS
    )


def _place_actions(
    actions: pd.DataFrame | None, index: pd.DatetimeIndex, symbols: tuple[str, ...], close: Array
) -> tuple[Array, Array]:
    """(T, N) split ratios and dividends, each on the symbol's first traded bar at or after its ex-date.

    Actions before the first bar are already in the raw prices; those after the last bar have not happened.
    """
    splits = np.ones_like(close)
    dividends = np.zeros_like(close)
    if actions is None or actions.empty:
        return splits, dividends
    column = {s: j for j, s in enumerate(symbols)}
    stamps = index.asi8
    ratios = actions["split_ratio"].to_numpy(dtype=np.float64)
    cash = actions["dividend"].to_numpy(dtype=np.float64)
    ex_dates = pd.DatetimeIndex(actions["ts"]).asi8
    for symbol, at, ratio, amount in zip(actions["symbol"].astype(str), ex_dates, ratios, cash, strict=True):
        j = column.get(symbol)
        if j is None:
            continue
        if len(stamps) == 0 or at <= stamps[0]:
            continue
        traded = np.flatnonzero(np.isfinite(close[:, j]) & (stamps >= at))
        if traded.size == 0:
            continue
        k = int(traded[0])
        splits[k, j] *= float(ratio)
        dividends[k, j] += float(amount)
    return splits, dividends
