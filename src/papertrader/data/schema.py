"""The bar and series column conventions shared by the lake, the quality rules and every adapter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import pandas as pd

from papertrader.core.errors import DataError

#: Columns of a long-format bars frame, in this order.
BAR_COLUMNS: Final = ("symbol", "ts", "open", "high", "low", "close", "volume")
#: The float64 value columns of a bar.
VALUE_COLUMNS: Final = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS: Final = ("open", "high", "low", "close")
#: Extra columns every stored bar carries.
LAKE_COLUMNS: Final = (*BAR_COLUMNS, "source", "ingested_at")
#: Columns of a corporate-action table: ex-date (session stamp, UTC), new shares per old, cash per share.
ACTION_COLUMNS: Final = ("symbol", "ts", "split_ratio", "dividend")
#: Columns of a stored macro series.
SERIES_COLUMNS: Final = ("date", "value", "source")

#: The supported intervals, shortest first.
INTERVALS: Final = ("1m", "5m", "15m", "30m", "1h", "1d")

#: Timezone whose midnight stamps a daily bar (the US equity session calendar).
DAILY_TZ: Final = "America/New_York"

UTC_NS: Final = "datetime64[ns, UTC]"

_INTERVAL_ALIASES: Final = {
    "1min": "1m",
    "5min": "5m",
    "15min": "15m",
    "30min": "30m",
    "60min": "1h",
    "60m": "1h",
    "1hour": "1h",
    "1d": "1d",
    "d": "1d",
    "day": "1d",
    "daily": "1d",
}


def normalize_interval(interval: str) -> str:
    """Map vendor spellings ('60min', 'daily') onto our canonical interval so partitions never split."""
    key = str(interval).strip().lower()
    canonical = key if key in INTERVALS else _INTERVAL_ALIASES.get(key)
    if canonical is None:
        raise DataError(f"unknown interval {interval!r}: use one of {', '.join(INTERVALS)}")
    return canonical


def interval_order(interval: str) -> int:
    """Sort key placing intervals shortest first, so listings read naturally."""
    return INTERVALS.index(interval) if interval in INTERVALS else len(INTERVALS)


def empty_bars() -> pd.DataFrame:
    """An empty bars frame with the right columns and dtypes, so callers never special-case 'no data'."""
    return pd.DataFrame(
        {
            "symbol": pd.Series([], dtype=object),
            "ts": pd.Series([], dtype=UTC_NS),
            **{c: pd.Series([], dtype="float64") for c in VALUE_COLUMNS},
        }
    )


def empty_actions() -> pd.DataFrame:
    """An empty corporate-actions frame (symbol, ts, split_ratio, dividend) with the right dtypes."""
    return pd.DataFrame(
        {
            "symbol": pd.Series([], dtype=object),
            "ts": pd.Series([], dtype=UTC_NS),
            "split_ratio": pd.Series([], dtype="float64"),
            "dividend": pd.Series([], dtype="float64"),
        }
    )


def empty_series() -> pd.DataFrame:
    """An empty macro series frame with the stored columns and dtypes."""
    return pd.DataFrame(
        {
            "date": pd.Series([], dtype=UTC_NS),
            "value": pd.Series([], dtype="float64"),
            "source": pd.Series([], dtype=object),
        }
    )


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str = "bars") -> None:
    """Fail early, naming what is missing, instead of a KeyError deep inside a merge."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            f"{what} frame is missing column(s) {', '.join(missing)}; it has {', '.join(map(str, df.columns))}"
        )


def to_utc(values: pd.Series) -> pd.Series:
    """Coerce a datetime column read back from Parquet/DuckDB to datetime64[ns, UTC] (naive means UTC)."""
    s = pd.to_datetime(values)
    s = s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
    return s.astype(UTC_NS)


def daily_stamp(dates: pd.Series, tz: str = DAILY_TZ) -> pd.Series:
    """Stamp session dates at local midnight of tz, in UTC: the daily-bar convention the engine relies on."""
    s = pd.to_datetime(dates)
    if s.dt.tz is not None:
        s = s.dt.tz_convert(tz).dt.tz_localize(None)
    local = s.dt.normalize().dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return local.dt.tz_convert("UTC").astype(UTC_NS)
