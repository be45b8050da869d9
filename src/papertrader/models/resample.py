"""Coarser bars for the GRU, stamped so that a coarse bar is used only once all of its fine bars are done.

Intraday bars group by clock buckets inside each New York session (1m -> 5m, 5m -> 15m, 15m/30m -> 1h) and
are stamped at the bucket start with the coarse interval, so the decision time (start + coarse minutes) is
at or after the last fine bar's close. Hourly bars group by session into daily bars stamped the daily way.
Daily bars group by New York week and are stamped at the week's LAST session (interval still 1d), so the
decision time is that session's close: the week is complete, nothing later is inside.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from papertrader.core.errors import DataError
from papertrader.domain.sessions import NEW_YORK

#: fine interval -> (coarse label, interval the coarse bars are stamped with for the feature pipeline)
COARSER: Final[dict[str, tuple[str, str]]] = {
    "1m": ("5m", "5m"),
    "5m": ("15m", "15m"),
    "15m": ("1h", "1h"),
    "30m": ("1h", "1h"),
    "1h": ("1d", "1d"),
    "1d": ("1w", "1d"),
}
_BUCKET: Final = {"5m": "5min", "15m": "15min", "1h": "1h"}


def coarser(interval: str) -> tuple[str, str]:
    """(coarse label, pipeline interval) for a lake interval."""
    try:
        return COARSER[interval]
    except KeyError:
        raise DataError(f"no coarser interval defined for {interval!r}; use one of {sorted(COARSER)}") from None


def _aggregate(bars: pd.DataFrame, key: pd.Series, stamp: pd.Series) -> pd.DataFrame:
    frame = bars.assign(_key=key.to_numpy(), _stamp=stamp.to_numpy())
    grouped = frame.groupby(["symbol", "_key"], sort=True)
    out = grouped.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
        ts=("_stamp", "last"),
    ).reset_index()
    out = out[["symbol", "ts", "open", "high", "low", "close", "volume"]]
    return out.sort_values(["ts", "symbol"], kind="mergesort").reset_index(drop=True)


def resample_bars(bars: pd.DataFrame, interval: str) -> tuple[pd.DataFrame, str]:
    """Long bars at `interval` -> long coarser bars, and the interval to hand the feature pipeline."""
    if bars.empty:
        raise DataError("no bars to resample")
    label, pipeline_interval = coarser(interval)
    bars = bars.sort_values(["symbol", "ts"], kind="mergesort").reset_index(drop=True)
    ts = pd.DatetimeIndex(bars["ts"]).tz_convert("UTC")
    local = ts.tz_convert(NEW_YORK)
    # naive New York midnight of each bar's session (normalising tz-aware stamps re-localises every row: slow)
    session = pd.Series(local.tz_localize(None).normalize(), index=bars.index)
    if interval == "1d":
        week = pd.Series(session - pd.to_timedelta(session.dt.weekday, unit="D"), index=bars.index)
        stamp = pd.Series(ts, index=bars.index)  # last session of the week, daily convention kept
        return _aggregate(bars, week, stamp), pipeline_interval
    if label == "1d":
        codes, days = pd.factorize(session)
        midnight = pd.DatetimeIndex(days).tz_localize(NEW_YORK).tz_convert("UTC")
        stamp = pd.Series(midnight[codes], index=bars.index)
        return _aggregate(bars, session, stamp), pipeline_interval
    bucket = local.floor(_BUCKET[label])
    key = pd.Series(np.asarray(bucket.asi8), index=bars.index)
    return _aggregate(bars, key, pd.Series(bucket.tz_convert("UTC"), index=bars.index)), pipeline_interval
