"""Whether an intraday timestamp labels the bar's start or its end, decided from the data, day by day.

market-apis.md: "recent data labels a bar by its start, old data by its end: do not hard-code either". The
bars of one trading day must lie inside the session window (04:00-20:00 US/Eastern with extended hours,
09:30-16:00 without), which gives evidence per day for an interval of ``d`` minutes:

* a label at (or after) the close can only be an end: no bar starts when the session closes;
* otherwise a label at (or before) the open can only be a start: no bar ends when the session opens.

The close wins when both appear: the recorded 2017 15-minute SMA answer labels each regular session
09:30, 09:45, ..., 16:00 (27 labels for 26 bars), i.e. end labels plus a bar stamped at the open. Only the
session edges count: the vendor clips and aligns bars to the clock (a 60-minute bar 09:30-10:00 labelled
10:00), so "a label within one interval of the open" would be misleading evidence.

The window of a day is the extended one (04:00-20:00) when the day holds a label outside regular hours
(09:30-16:00), else the regular one. Days without evidence (no bar at either edge, e.g. a thin
pre-market) take the convention of the nearest day with evidence in the same answer; with no evidence at
all the caller's fallback applies (settings ``intraday_label_fallback``). For example the recorded
extended-hours CSV ends its day at ``20:00:00``: end labels, so that bar is stored as starting at 19:59.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import numpy as np
import pandas as pd

Convention = Literal["start", "end"]

EXTENDED_OPEN: Final = 4 * 60
EXTENDED_CLOSE: Final = 20 * 60
REGULAR_OPEN: Final = 9 * 60 + 30
REGULAR_CLOSE: Final = 16 * 60


def _day_convention(minutes: np.ndarray[Any, np.dtype[np.float64]]) -> Convention | None:
    """One day's convention from its labels (minutes after midnight), or None without evidence."""
    if ((minutes < REGULAR_OPEN) | (minutes > REGULAR_CLOSE)).any():
        open_, close = EXTENDED_OPEN, EXTENDED_CLOSE
    else:
        open_, close = REGULAR_OPEN, REGULAR_CLOSE
    if (minutes >= close).any():
        return "end"
    if (minutes <= open_).any():
        return "start"
    return None


def detect_conventions(local_times: pd.Series, *, fallback: Convention) -> pd.Series:
    """Per row, whether its label is a bar 'start' or 'end', from per-day session evidence (see module)."""
    naive = pd.to_datetime(local_times)
    out = np.array([fallback] * len(naive), dtype=object)
    valid = naive.notna().to_numpy()
    if not valid.any():
        return pd.Series(out, index=naive.index, dtype=object)
    times = naive[valid]
    minutes = (times.dt.hour * 60 + times.dt.minute + times.dt.second / 60.0).to_numpy(dtype="float64")
    days = times.dt.normalize().to_numpy()
    by_day: dict[np.datetime64, Convention | None] = {}
    for day in np.unique(days):
        by_day[day] = _day_convention(minutes[days == day])
    ordered = sorted(by_day)
    decided = pd.Series([by_day[d] for d in ordered], index=pd.DatetimeIndex(ordered), dtype=object)
    filled = _nearest_fill(decided) if decided.notna().any() else decided.fillna(fallback)
    out[valid] = [filled[pd.Timestamp(d)] for d in days]
    return pd.Series(out, index=naive.index, dtype=object)


def _nearest_fill(decided: pd.Series) -> pd.Series:
    """Fill undecided days with the convention of the nearest decided day (earlier one on ties)."""
    positions = np.arange(len(decided))
    known = positions[decided.notna().to_numpy()]
    out = decided.copy()
    for pos in positions[decided.isna().to_numpy()]:
        nearest = known[np.argmin(np.abs(known - pos))]
        out.iloc[pos] = decided.iloc[nearest]
    return out


def bar_starts(local_times: pd.Series, conventions: pd.Series, interval_minutes: int) -> pd.Series:
    """Shift end-labelled times back by one interval so every time is its bar's start."""
    naive = pd.to_datetime(local_times)
    shift = pd.Series(np.where(conventions.to_numpy() == "end", interval_minutes, 0), index=naive.index).astype("int64")
    return naive - pd.to_timedelta(shift, unit="min")
