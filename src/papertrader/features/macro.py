"""Macro features joined as of their RELEASE, not their reference date.

A stored series has one row per reference date (``date``: the day, month or quarter the value is about,
stamped at its start, as FRED, Alpha Vantage and the bundled data do). A value becomes visible at

    release = midnight New York of (end of the reference period + lag_days)

where the end of a daily period is the next day, of a monthly one the first of the next month, of a
quarterly one the first day of the next quarter. A bar sees an observation only if release <= the bar's
START time: earlier than its decision time (the close), so the rule stays conservative whatever time of
day the release really came out.

Default lags (configurable per series): daily market series 0 days after the period end (visible from the
day after the reference day); Moody's yields and monthly oil averages 1-5 days; core CPI 20 days after the
month (BLS releases around the 10th-15th); unemployment 10 days after the quarter; real GDP 30 days after
the quarter (the advance estimate). Transforms (changes, growth rates) are computed in observation order,
on values that were all released before the one they end at, and only then joined.

Caveat: the stored values are the latest vintage, not the first release; revisions (GDP, payrolls) are a
residual look-ahead that only real-time vintages (ALFRED) would remove. Market series are not revised.
A value older than `stale_days` after its release is treated as missing (a series that stopped updating
must not look current).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Final, Literal

import numpy as np
import pandas as pd

from papertrader.core.arrays import Array, IntArray
from papertrader.core.errors import ConfigError, DataError
from papertrader.features.times import NS_PER_DAY, ny_midnight_ns

Frequency = Literal["D", "M", "Q"]
Transform = Literal["level", "diff", "pct", "log_diff"]

#: days a value stays current after its release, by frequency, unless the series says otherwise
DEFAULT_STALE_DAYS: Final[dict[str, int]] = {"D": 7, "M": 62, "Q": 135}


@dataclass(frozen=True, slots=True)
class MacroSeries:
    """One macro feature: a stored series, its frequency and publication lag, and a transform."""

    alias: str
    series: str
    frequency: Frequency
    lag_days: int
    transform: Transform = "level"
    periods: int = 1
    stale_days: int | None = None

    def __post_init__(self) -> None:
        if self.lag_days < 0 or self.periods < 1:
            raise ConfigError(f"macro {self.alias}: lag_days >= 0 and periods >= 1")
        if self.frequency not in DEFAULT_STALE_DAYS:
            raise ConfigError(f"macro {self.alias}: frequency must be D, M or Q (got {self.frequency!r})")

    @property
    def stale_after(self) -> int:
        """Days after release beyond which the value counts as missing."""
        return self.stale_days if self.stale_days is not None else DEFAULT_STALE_DAYS[self.frequency]


@dataclass(frozen=True, slots=True)
class MacroSpread:
    """The difference of two macro features (long minus short), each taken as of its own release."""

    alias: str
    long: str
    short: str


# The bundled offline series (see data/adapters/bundled.py). There is no Treasury curve in the bundle:
# the "term spread" below is Moody's Aaa corporate yield minus the 3-month T-bill (quarterly), a proxy
# for the slope, not the Treasury 10y-3m; the credit spread is Baa minus Aaa.
BUNDLED_SERIES: Final = (
    MacroSeries("wti", "DCOILWTICO", "D", 0),
    MacroSeries("wti_logret_21", "DCOILWTICO", "D", 0, "log_diff", 21),
    MacroSeries("brent_m", "BRENT_M", "M", 5),
    MacroSeries("vix", "VIX", "D", 0),
    MacroSeries("aaa", "AAA", "M", 1),
    MacroSeries("baa", "BAA", "M", 1),
    MacroSeries("tbill_3m_q", "US_TBILL_Q", "Q", 1),
    MacroSeries("cpi_core_yoy", "CPILFESL", "M", 20, "pct", 12),
    MacroSeries("cpi_core_mom", "CPILFESL", "M", 20, "pct", 1),
    MacroSeries("infl_q", "US_INFL_Q", "Q", 20),
    MacroSeries("unemp_q", "US_UNEMP_Q", "Q", 10),
    MacroSeries("gdp_growth_q", "US_REALGDP_Q", "Q", 30, "pct", 1),
)
BUNDLED_SPREADS: Final = (
    MacroSpread("credit_spread_baa_aaa", "baa", "aaa"),
    MacroSpread("term_spread_aaa_tbill", "aaa", "tbill_3m_q"),
)

# Alpha Vantage macro functions, stored under these series names by the data layer (one name per
# function and maturity). Treasury yields and fed funds give a true curve slope when present.
ALPHAVANTAGE_SERIES: Final = (
    MacroSeries("fed_funds", "FEDERAL_FUNDS_RATE", "M", 1),
    MacroSeries("ust_3m", "TREASURY_YIELD_3MONTH", "D", 0),
    MacroSeries("ust_2y", "TREASURY_YIELD_2YEAR", "D", 0),
    MacroSeries("ust_10y", "TREASURY_YIELD_10YEAR", "D", 0),
    MacroSeries("cpi_yoy", "CPI", "M", 20, "pct", 12),
    MacroSeries("unemployment", "UNEMPLOYMENT", "M", 10),
    MacroSeries("payrolls_mom", "NONFARM_PAYROLL", "M", 10, "pct", 1),
    MacroSeries("real_gdp_growth", "REAL_GDP", "Q", 30, "pct", 1),
    MacroSeries("wti_daily", "WTI", "D", 0),
    MacroSeries("brent_daily", "BRENT", "D", 0),
)
ALPHAVANTAGE_SPREADS: Final = (
    MacroSpread("ust_10y_2y", "ust_10y", "ust_2y"),
    MacroSpread("ust_10y_3m", "ust_10y", "ust_3m"),
)


@dataclass(frozen=True, slots=True)
class MacroSpec:
    """Which macro features to build; every named series must be supplied."""

    series: tuple[MacroSeries, ...] = BUNDLED_SERIES
    spreads: tuple[MacroSpread, ...] = BUNDLED_SPREADS

    def __post_init__(self) -> None:
        aliases = [s.alias for s in self.series] + [s.alias for s in self.spreads]
        if len(set(aliases)) != len(aliases):
            raise ConfigError("macro feature aliases must be unique")
        known = {s.alias for s in self.series}
        for spread in self.spreads:
            if spread.long not in known or spread.short not in known:
                raise ConfigError(f"macro spread {spread.alias} needs features {spread.long}, {spread.short}")

    def names(self) -> tuple[str, ...]:
        """Column names, in a stable order."""
        return (*(f"macro_{s.alias}" for s in self.series), *(f"macro_{s.alias}" for s in self.spreads))

    def required(self) -> tuple[str, ...]:
        """Stored series names this spec reads."""
        return tuple(dict.fromkeys(s.series for s in self.series))


def macro_spec_for(available: Iterable[str], extra_lag_days: int = 0) -> MacroSpec:
    """The bundled and Alpha Vantage features whose series exist (fed funds, Treasury slope when present).

    `extra_lag_days` delays every series beyond its own publication lag (settings features.macro_lag_days).
    """
    have = set(available)
    series = tuple(
        replace(s, lag_days=s.lag_days + extra_lag_days) if extra_lag_days else s
        for s in (*BUNDLED_SERIES, *ALPHAVANTAGE_SERIES)
        if s.series in have
    )
    aliases = {s.alias for s in series}
    spreads = tuple(s for s in (*BUNDLED_SPREADS, *ALPHAVANTAGE_SPREADS) if s.long in aliases and s.short in aliases)
    return MacroSpec(series, spreads)


def release_ns(reference: pd.Series | pd.DatetimeIndex, frequency: Frequency, lag_days: int) -> IntArray:
    """UTC nanoseconds at which each observation becomes visible (end of its period + lag, NY midnight)."""
    ref = pd.DatetimeIndex(reference)
    if ref.tz is not None:
        ref = ref.tz_convert("UTC").tz_localize(None)
    ref = ref.normalize()
    end = ref + pd.Timedelta(days=1) if frequency == "D" else (ref.to_period(frequency) + 1).to_timestamp()
    days = np.asarray(end.asi8 // NS_PER_DAY, dtype=np.int64) + lag_days
    return ny_midnight_ns(days)


@dataclass(frozen=True)
class AsOfTable:
    """Observations in release order: the value visible at time t is the last one with release <= t."""

    release: IntArray
    value: Array
    stale_ns: int

    def at(self, t_ns: IntArray) -> Array:
        """Values visible at each time (NaN before the first release or when stale)."""
        idx = np.searchsorted(self.release, t_ns, side="right") - 1
        safe = np.clip(idx, 0, None)
        if self.value.size == 0:
            return np.full(t_ns.shape, np.nan)
        val = self.value[safe]
        fresh = (idx >= 0) & (t_ns - self.release[safe] <= self.stale_ns)
        return np.where(fresh, val, np.nan)


def _transform(values: Array, how: Transform, periods: int) -> Array:
    out = np.full(values.shape, np.nan)
    if values.size <= periods and how != "level":
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        if how == "level":
            return values.copy()
        new, old = values[periods:], values[:-periods]
        if how == "diff":
            out[periods:] = new - old
        elif how == "pct":
            out[periods:] = new / old - 1.0
        else:
            out[periods:] = np.log(new / old)
    return out


def build_tables(frames: Mapping[str, pd.DataFrame], spec: MacroSpec) -> dict[str, AsOfTable]:
    """One as-of table per macro feature, from stored series frames (`date` = reference date, `value`)."""
    missing = [name for name in spec.required() if name not in frames]
    if missing:
        raise DataError(
            f"macro series {', '.join(missing)} not supplied; import them "
            "(`papertrader data import --source bundled`) or build the spec with macro_spec_for(...)"
        )
    tables: dict[str, AsOfTable] = {}
    for s in spec.series:
        frame = frames[s.series]
        if not {"date", "value"} <= set(frame.columns):
            raise DataError(f"macro series {s.series} needs columns date and value")
        frame = frame.loc[:, ["date", "value"]].dropna().sort_values("date", kind="mergesort")
        frame = frame.drop_duplicates("date", keep="last")
        values = _transform(frame["value"].to_numpy(dtype=np.float64), s.transform, s.periods)
        release = release_ns(pd.DatetimeIndex(frame["date"]), s.frequency, s.lag_days)
        tables[s.alias] = AsOfTable(release, values, s.stale_after * NS_PER_DAY)
    return tables


def macro_at(tables: Mapping[str, AsOfTable], spec: MacroSpec, t_ns: IntArray) -> dict[str, Array]:
    """Every macro feature visible at each bar start (UTC ns): one value per time, shared by all symbols."""
    out: dict[str, Array] = {}
    for s in spec.series:
        out[f"macro_{s.alias}"] = tables[s.alias].at(t_ns)
    for d in spec.spreads:
        out[f"macro_{d.alias}"] = out[f"macro_{d.long}"] - out[f"macro_{d.short}"]
    return out


class MacroState:
    """The same as-of join one bar at a time: a cursor per feature that only ever moves forward."""

    def __init__(self, tables: Mapping[str, AsOfTable], spec: MacroSpec, last_ns: int | None = None) -> None:
        self.spec = spec
        self._release = {a: t.release.tolist() for a, t in tables.items()}
        self._value = {a: t.value.tolist() for a, t in tables.items()}
        self._stale = {a: t.stale_ns for a, t in tables.items()}
        self._pos = {a: -1 for a in tables}
        if last_ns is not None:  # side data replaced mid-stream: start the cursors where time is
            for a, t in tables.items():
                self._pos[a] = int(np.searchsorted(t.release, last_ns, side="right")) - 1

    def update(self, t_ns: int) -> dict[str, float]:
        """Every macro feature visible at one bar start (UTC ns); times must not go backwards."""
        out: dict[str, float] = {}
        for s in self.spec.series:
            release, pos = self._release[s.alias], self._pos[s.alias]
            while pos + 1 < len(release) and release[pos + 1] <= t_ns:
                pos += 1
            self._pos[s.alias] = pos
            fresh = pos >= 0 and t_ns - release[pos] <= self._stale[s.alias]
            out[f"macro_{s.alias}"] = self._value[s.alias][pos] if fresh else np.nan
        for d in self.spec.spreads:
            out[f"macro_{d.alias}"] = out[f"macro_{d.long}"] - out[f"macro_{d.short}"]
        return out
