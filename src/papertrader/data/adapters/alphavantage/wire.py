"""Wire-level helpers: Alpha Vantage sends every value as a string and some shapes vary; coerce at the edge.

Missing values arrive as ``"None"``, ``"-"``, ``""``, ``"."`` (macro) or ``"N/A"``; all become NaN. Percent
strings (``"-0.5852%"``) keep percent units (-0.5852). Anything that is not a number (objects, lists, bools)
is NaN too; structural problems (a series that is not an object) are ``DataError``.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from papertrader.core.errors import DataError

#: Where Alpha Vantage's naive intraday timestamps live unless the meta data says otherwise.
VENDOR_TZ: Final = "America/New_York"
_MISSING: Final = frozenset({"", "none", "-", ".", "n/a", "na", "nan", "null"})
_NUMBERED: Final = re.compile(r"^\s*\d+\s*[.:]\s*")


def num(value: object) -> float:
    """One wire value as a float; missing markers and non-numbers become NaN, never an exception."""
    if isinstance(value, bool) or value is None:
        return math.nan
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an integer beyond float range
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if text.lower() in _MISSING:
            return math.nan
        if text.endswith("%"):
            text = text[:-1].strip()
        try:
            return float(text)
        except ValueError:
            return math.nan
    return math.nan


def nums(values: Iterable[object]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Many wire values as a float64 array (see `num`)."""
    return np.fromiter((num(v) for v in values), dtype="float64")


def text(value: object) -> str | None:
    """A wire string, with missing markers as None."""
    if value is None or isinstance(value, dict | list):
        return None
    out = str(value).strip()
    return None if out.lower() in _MISSING else out


def field_name(key: object) -> str:
    """Drop the vendor's numbering (``"1. open"``, ``"1: Symbol"``) and lower-case the rest."""
    return _NUMBERED.sub("", str(key)).strip().lower()


def require_object(value: object, what: str) -> Mapping[str, Any]:
    """A JSON object, or a DataError naming what was expected, so a changed format fails loudly."""
    if not isinstance(value, dict):
        raise DataError(f"Alpha Vantage {what} is not a JSON object (got {type(value).__name__})")
    return value


def require_list(value: object, what: str) -> list[Any]:
    """A JSON array, or a DataError naming what was expected."""
    if not isinstance(value, list):
        raise DataError(f"Alpha Vantage {what} is not a JSON array (got {type(value).__name__})")
    return value


def find_key(payload: Mapping[str, Any], prefix: str) -> str | None:
    """The first top-level key starting with `prefix` (case-insensitive), e.g. ``Time Series (5min)``."""
    wanted = prefix.lower()
    for key in payload:
        if str(key).lower().startswith(wanted):
            return str(key)
    return None


def meta_value(payload: Mapping[str, Any], name: str) -> str | None:
    """A value from ``Meta Data`` by its un-numbered name (``time zone``, ``interval``), if present."""
    meta = payload.get("Meta Data")
    if not isinstance(meta, dict):
        return None
    for key, value in meta.items():
        if field_name(key) == name:
            return text(value)
    return None


def vendor_tz(payload: Mapping[str, Any]) -> str:
    """The timezone the meta data declares (``US/Eastern``), or New York when absent or unknown."""
    declared = meta_value(payload, "time zone")
    if declared:
        try:
            zoneinfo.ZoneInfo(declared)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return VENDOR_TZ
        return declared
    return VENDOR_TZ


def parse_local_times(values: Iterable[object]) -> pd.Series:
    """Naive vendor timestamps (``2024-10-29 19:55:00``, ``2017-12-20 14:00``, dates) as naive datetimes."""
    strings = pd.Series([v.strip() if isinstance(v, str) else None for v in values], dtype=object)
    try:
        out = pd.to_datetime(strings, errors="coerce", format="ISO8601")
        if isinstance(out.dtype, pd.DatetimeTZDtype):  # an offset in the strings: honour it, then drop it
            out = out.dt.tz_convert(VENDOR_TZ).dt.tz_localize(None)
        if pd.api.types.is_datetime64_dtype(out.dtype):
            return out.astype("datetime64[ns]")
    except (ValueError, TypeError, OverflowError):
        pass
    return pd.Series([_one_local_time(v) for v in strings], dtype="datetime64[ns]")


def _one_local_time(value: str | None) -> pd.Timestamp | None:
    """Parse one timestamp the slow way (mixed offsets or odd strings); unparsable means None (NaT)."""
    if value is None:
        return None
    try:
        ts = pd.Timestamp(pd.to_datetime(value, format="ISO8601"))
        if pd.isna(ts):
            return None
        if ts.tzinfo is not None:
            ts = ts.tz_convert(VENDOR_TZ).tz_localize(None)
        return ts.as_unit("ns")
    except (ValueError, TypeError, OverflowError):
        return None


def localize_utc(naive: pd.Series, tz: str) -> pd.Series:
    """Localize naive wall-clock times to `tz` and convert to UTC; DST gaps and overlaps become NaT."""
    if naive.empty:
        return pd.Series([], dtype="datetime64[ns, UTC]")
    local = pd.to_datetime(naive).dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return local.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def compact_time(value: object) -> pd.Timestamp | None:
    """A news timestamp ``20260428T100054`` (or without seconds) as a naive Timestamp, else None."""
    raw = text(value)
    formats = {15: "%Y%m%dT%H%M%S", 13: "%Y%m%dT%H%M"}  # by length: strptime alone reads 0930 as 09:03
    if raw is None or len(raw) not in formats or not raw.replace("T", "", 1).isdigit():
        return None
    try:
        return pd.Timestamp(datetime.strptime(raw, formats[len(raw)]))  # noqa: DTZ007 - naive by design
    except (ValueError, OverflowError):
        return None
