"""Session and calendar features from exchange_calendars (XNYS, XTSE, XTSX): all known in advance.

Each symbol trades on one exchange (by ticker suffix: .TO -> XTSE, .V -> XTSX, otherwise XNYS). A bar
belongs to the session of its New York date (Toronto keeps the same clock). Features per bar:

* day of week; minutes since the session open and to the session close, at the bar's decision time (a
  daily bar: the whole session); the session's length and whether it is a half day; whether the bar lies
  inside regular hours (judged by its decision time: some vendors stamp the first
  half-hour bar at 09:00);
* calendar days since the previous session and to the next one, whether a weekday holiday comes before the
  next session, and how many sessions remain in the month;
* days to the next earnings date from an earnings calendar (columns symbol, report_date, optional
  announced_at). Report dates are announced weeks ahead, so they are public before they happen; with an
  announced_at column a date is used only from the New York day after its announcement, without one every
  listed date is assumed known in advance (true for vendor calendars of scheduled reports, not for a
  list of past report dates collected after the fact).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from papertrader.core.arrays import Array, IntArray
from papertrader.core.errors import ConfigError, DataError
from papertrader.domain.calendars import calendar, calendar_names
from papertrader.features.times import NS_PER_DAY, NS_PER_MINUTE, decision_times, ny_days, to_ns

_NAMES: Final = (
    "cal_dow",
    "cal_minutes_since_open",
    "cal_minutes_to_close",
    "cal_session_minutes",
    "cal_half_day",
    "cal_regular_hours",
    "cal_days_since_prev_session",
    "cal_days_to_next_session",
    "cal_holiday_ahead",
    "cal_sessions_to_month_end",
)


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    """Exchange assignment by ticker suffix, and whether to add days to the next earnings date."""

    default_exchange: str = "XNYS"
    suffix_exchanges: tuple[tuple[str, str], ...] = ((".TO", "XTSE"), (".V", "XTSX"), (".VN", "XTSX"))
    earnings: bool = False

    def __post_init__(self) -> None:
        known = calendar_names()
        for ex in (self.default_exchange, *(e for _, e in self.suffix_exchanges)):
            if ex not in known:
                raise ConfigError(f"calendar: unknown exchange {ex!r}")

    def names(self) -> tuple[str, ...]:
        """Column names, in a stable order."""
        return (*_NAMES, *(("cal_days_to_earnings",) if self.earnings else ()))

    def exchange(self, symbol: str) -> str:
        """The exchange whose calendar a symbol follows."""
        for suffix, ex in self.suffix_exchanges:
            if symbol.upper().endswith(suffix.upper()):
                return ex
        return self.default_exchange


@dataclass(frozen=True)
class Sessions:
    """One exchange's sessions as arrays: date (days since epoch), open and close (UTC ns), flags."""

    day: IntArray
    open: IntArray
    close: IntArray
    early: npt.NDArray[np.bool_]
    last_of_month: npt.NDArray[np.intp]


@functools.lru_cache(maxsize=16)
def sessions(exchange: str, first_year: int, last_year: int) -> Sessions:
    """Session table of an exchange over whole years (cached: building a calendar takes about a second)."""
    cal = calendar(exchange, f"{first_year}-01-01", f"{last_year}-12-31")
    sched = cal.schedule
    day = np.asarray(pd.DatetimeIndex(sched.index).asi8 // NS_PER_DAY, dtype=np.int64)
    early = np.isin(day, np.asarray(pd.DatetimeIndex(cal.early_closes).asi8 // NS_PER_DAY))
    months = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    change = np.flatnonzero(np.diff(months)) + 1
    ends = np.append(change, day.size) - 1
    last = np.repeat(ends, np.diff(np.concatenate([[0], ends + 1])))
    return Sessions(
        day=day,
        open=np.asarray(pd.DatetimeIndex(sched["open"]).asi8, dtype=np.int64),
        close=np.asarray(pd.DatetimeIndex(sched["close"]).asi8, dtype=np.int64),
        early=early,
        last_of_month=np.asarray(last, dtype=np.intp),
    )


def _table_for(exchange: str, days: IntArray) -> Sessions:
    """The cached table covering these days (at least 1990-2035, so batch and stream share one)."""
    years = days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    first = min(1990, int(years.min()) - 1) if years.size else 1990
    last = max(2035, int(years.max()) + 2) if years.size else 2035
    try:
        return sessions(exchange, first, last)
    except Exception as exc:  # exchange_calendars raises its own errors for out-of-range dates
        raise DataError(f"no {exchange} calendar for {first}-{last}: {exc}") from exc


_CLOCK: Final = ("cal_minutes_since_open", "cal_minutes_to_close", "cal_regular_hours")


def _clock_features(opens: IntArray, closes: IntArray, decide_ns: IntArray, interval: str) -> dict[str, Array]:
    """The features that move within a session: where the decision time sits relative to open and close."""
    if interval == "1d":
        decide = closes
        regular = np.ones(closes.size)
    else:
        decide = decide_ns
        regular = ((decide > opens) & (decide <= closes)).astype(np.float64)
    return {
        "cal_minutes_since_open": (decide - opens) / NS_PER_MINUTE,
        "cal_minutes_to_close": (closes - decide) / NS_PER_MINUTE,
        "cal_regular_hours": regular,
    }


def session_features(table: Sessions, days: IntArray, decide_ns: IntArray, interval: str) -> dict[str, Array]:
    """Calendar features of one exchange at each bar, as (T,) vectors, from integer times."""
    n_sess = table.day.size
    i = np.clip(np.searchsorted(table.day, days, side="left"), 1, n_sess - 2)
    opens, closes = table.open[i], table.close[i]
    session_day = table.day[i]
    next_day, prev_day = table.day[i + 1], table.day[i - 1]
    first, last = (session_day + 1).astype("datetime64[D]"), next_day.astype("datetime64[D]")
    between = np.busday_count(first, last)
    return {
        "cal_dow": ((session_day + 3) % 7).astype(np.float64),
        **_clock_features(opens, closes, decide_ns, interval),
        "cal_session_minutes": (closes - opens) / NS_PER_MINUTE,
        "cal_half_day": table.early[i].astype(np.float64),
        "cal_days_since_prev_session": (session_day - prev_day).astype(np.float64),
        "cal_days_to_next_session": (next_day - session_day).astype(np.float64),
        "cal_holiday_ahead": (between > 0).astype(np.float64),
        "cal_sessions_to_month_end": (table.last_of_month[i] - i).astype(np.float64),
    }


@dataclass(frozen=True)
class EarningsDates:
    """Each symbol's report dates and the day each became known (days since the epoch)."""

    report_day: tuple[IntArray, ...]
    known_day: tuple[IntArray, ...]


def prepare_earnings(frame: pd.DataFrame | None, symbols: tuple[str, ...]) -> EarningsDates:
    """Per-symbol sorted report dates; without announced_at every date counts as known from the start."""
    empty = np.zeros(0, dtype=np.int64)
    if frame is None or frame.empty:
        return EarningsDates(tuple(empty for _ in symbols), tuple(empty for _ in symbols))
    if not {"symbol", "report_date"} <= set(frame.columns):
        raise DataError("earnings calendar needs columns symbol and report_date")
    report = pd.DatetimeIndex(pd.to_datetime(frame["report_date"]))
    if report.tz is not None:
        report = report.tz_convert("UTC").tz_localize(None)
    rday = np.asarray(report.normalize().asi8 // NS_PER_DAY, dtype=np.int64)
    if "announced_at" in frame.columns:
        kday = ny_days(pd.DatetimeIndex(pd.to_datetime(frame["announced_at"], utc=True)))
    else:
        kday = np.full(rday.size, np.iinfo(np.int64).min // 2, dtype=np.int64)
    sym = frame["symbol"].astype(str).to_numpy()
    reports, knowns = [], []
    for s in symbols:
        m = sym == s
        order = np.argsort(rday[m], kind="stable")
        reports.append(rday[m][order])
        knowns.append(kday[m][order])
    return EarningsDates(tuple(reports), tuple(knowns))


def days_to_earnings(dates: EarningsDates, days: IntArray) -> Array:
    """(T, N) calendar days from each bar's date to the symbol's next known report date (NaN: none known)."""
    uniq, inv = np.unique(days, return_inverse=True)
    out = np.full((days.size, len(dates.report_day)), np.nan)
    big = np.iinfo(np.int64).max
    for j, (rep, known) in enumerate(zip(dates.report_day, dates.known_day, strict=True)):
        if rep.size == 0:
            continue
        ok = (rep[None, :] >= uniq[:, None]) & (known[None, :] < uniq[:, None])
        nxt = np.where(ok, rep[None, :], big).min(axis=1)
        per_day = np.where(nxt < big, (nxt - uniq).astype(np.float64), np.nan)
        out[:, j] = per_day[inv]
    return out


class CalendarState:
    """Calendar features for one universe: session tables looked up once, then integer arithmetic per bar."""

    def __init__(self, spec: CalendarSpec, symbols: tuple[str, ...], interval: str, days: IntArray) -> None:
        self.spec = spec
        self.interval = interval
        self.n = len(symbols)
        groups: dict[str, list[int]] = {}
        for j, s in enumerate(symbols):
            groups.setdefault(spec.exchange(s), []).append(j)
        self._groups = [(_table_for(ex, days), np.asarray(cols, dtype=np.intp)) for ex, cols in groups.items()]
        self.earnings: EarningsDates | None = None
        self._day: int | None = None
        self._day_row: dict[str, Array] = {}
        self._bounds: list[tuple[IntArray, IntArray]] = []

    def set_earnings(self, earnings: EarningsDates | None) -> None:
        """Use a refreshed earnings calendar from the next bar on."""
        self.earnings = earnings
        self._day = None

    def row(self, day: int, decide_ns: int) -> dict[str, Array]:
        """(N,) features for one bar: the session part is computed once per day, the clock part per bar."""
        decide = np.asarray([decide_ns], dtype=np.int64)
        if day != self._day:
            days = np.asarray([day], dtype=np.int64)
            self._day_row = {k: v[0] for k, v in self.at(days, decide).items()}
            self._bounds = []
            for table, _ in self._groups:
                i = np.clip(np.searchsorted(table.day, days, side="left"), 1, table.day.size - 2)
                self._bounds.append((table.open[i], table.close[i]))
            self._day = day
            return dict(self._day_row)
        out = dict(self._day_row)
        for name in _CLOCK:
            out[name] = out[name].copy()
        for (_, cols), (opens, closes) in zip(self._groups, self._bounds, strict=True):
            clock = _clock_features(opens, closes, decide, self.interval)
            for name in _CLOCK:
                out[name][cols] = clock[name][0]
        return out

    def at(self, days: IntArray, decide_ns: IntArray) -> dict[str, Array]:
        """(T, N) features for bars with these New York dates and decision times (UTC ns)."""
        out = {name: np.empty((days.size, self.n)) for name in self.spec.names()}
        for table, cols in self._groups:
            feats = session_features(table, days, decide_ns, self.interval)
            for name in _NAMES:
                out[name][:, cols] = feats[name][:, None]
        if self.spec.earnings:
            none = tuple(np.zeros(0, dtype=np.int64) for _ in range(self.n))
            dates = self.earnings or EarningsDates(none, none)
            out["cal_days_to_earnings"] = days_to_earnings(dates, days)
        return out


def compute_calendar(
    ts: pd.DatetimeIndex,
    interval: str,
    symbols: tuple[str, ...],
    spec: CalendarSpec,
    earnings: EarningsDates | None = None,
) -> dict[str, Array]:
    """Calendar features as (T, N) panels (the same value for symbols on the same exchange)."""
    days = ny_days(ts)
    state = CalendarState(spec, symbols, interval, days)
    state.earnings = earnings
    return state.at(days, to_ns(decision_times(ts, interval)))
