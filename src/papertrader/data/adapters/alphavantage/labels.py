"""Whether intraday timestamps label the bar's start or its end, decided from the answer's own data.

market-apis.md: "recent data labels a bar by its start, old data by its end: do not hard-code either". Bars
lie inside the session window, 04:00-20:00 US/Eastern with extended hours (used when any label falls
outside regular hours) or 09:30-16:00 without. Only the session edges are evidence:

* a label at (or after) the close can only be an end: no bar starts when the session closes, so the whole
  answer is end-labelled;
* otherwise a label at (or before) the open can only be a start: no bar ends when the session opens, so the
  whole answer is start-labelled;
* otherwise (no bar at either edge, e.g. a short or thin window) the caller's fallback applies (settings
  ``intraday_label_fallback``).

The close wins over the open because old answers carry both: the recorded 2017 15-minute SMA labels each
regular session 09:30, 09:45, ..., 16:00 (27 labels for 26 bars), i.e. end labels plus a bar stamped at
the open, and its last, partial day (09:30 .. 14:00) shows only the open. Deciding per answer rather than per
day keeps such a day consistent with the rest. The edges are used, not "a label within one interval of
the open", because the vendor clips bars to the clock (a 60-minute bar 09:30-10:00 labelled 10:00).
Example: the recorded extended-hours CSV ends its day at ``20:00:00``, so its bars are end-labelled and
that last bar is stored as starting at 19:59.
"""

from __future__ import annotations

from typing import Final, Literal

import pandas as pd

Convention = Literal["start", "end"]

EXTENDED_OPEN: Final = 4 * 60
EXTENDED_CLOSE: Final = 20 * 60
REGULAR_OPEN: Final = 9 * 60 + 30
REGULAR_CLOSE: Final = 16 * 60


def detect_convention(local_times: pd.Series, *, fallback: Convention) -> Convention:
    """Whether an answer's naive local labels are bar starts or ends, from the session edges (see module)."""
    naive = pd.to_datetime(pd.Series(local_times)).dropna()
    if naive.empty:
        return fallback
    minutes = (naive.dt.hour * 60 + naive.dt.minute + naive.dt.second / 60.0).to_numpy(dtype="float64")
    if ((minutes < REGULAR_OPEN) | (minutes > REGULAR_CLOSE)).any():
        open_, close = EXTENDED_OPEN, EXTENDED_CLOSE
    else:
        open_, close = REGULAR_OPEN, REGULAR_CLOSE
    if (minutes >= close).any():
        return "end"
    if (minutes <= open_).any():
        return "start"
    return fallback


def bar_starts(local_times: pd.Series, convention: Convention, interval_minutes: int) -> pd.Series:
    """Shift end labels back by one interval so every time is its bar's start."""
    naive = pd.to_datetime(pd.Series(local_times))
    return naive - pd.Timedelta(minutes=interval_minutes) if convention == "end" else naive
