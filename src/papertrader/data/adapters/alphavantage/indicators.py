"""Technical indicator answers (RSI, SMA, MACD, ...) into a frame of UTC timestamps and float values.

Columns: ``symbol, ts`` then one lower-cased column per value (``rsi``; ``sma``; ``macd, macd_hist,
macd_signal``). Intraday ``ts`` is the start of the bar the value belongs to (labels handled exactly as
for bars, see ``labels``); the value uses that bar's close, so it is known only at ``ts + interval``.
Daily and longer intervals are stamped at midnight New York, in UTC.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from papertrader.core.errors import DataError
from papertrader.data.adapters.alphavantage.bars import AV_INTERVALS
from papertrader.data.adapters.alphavantage.classify import BodyKind, classify_payload, raise_unless_data
from papertrader.data.adapters.alphavantage.csvbody import read_csv_table
from papertrader.data.adapters.alphavantage.labels import Convention, bar_starts, detect_convention
from papertrader.data.adapters.alphavantage.wire import (
    VENDOR_TZ,
    find_key,
    localize_utc,
    meta_value,
    nums,
    parse_local_times,
    require_object,
    vendor_tz,
)
from papertrader.data.schema import UTC_NS, daily_stamp


def _column(name: object) -> str:
    return str(name).strip().lower().replace(" ", "_")


def _stamp(local: pd.Series, interval: str | None, tz: str, *, fallback: Convention) -> pd.Series:
    iv = (interval or "").strip().lower()
    if iv in AV_INTERVALS:
        convention = detect_convention(local, fallback=fallback)
        return localize_utc(bar_starts(local, convention, AV_INTERVALS[iv]), tz)
    return daily_stamp(local)


def _frame(symbol: str, ts: pd.Series, values: dict[str, np.ndarray[Any, Any]]) -> pd.DataFrame:
    stamps = ts.reset_index(drop=True).astype(UTC_NS) if len(ts) else pd.Series([], dtype=UTC_NS)
    frame = pd.DataFrame({"symbol": pd.Series([symbol] * len(stamps), dtype=object), "ts": stamps})
    for name, column in values.items():
        frame[name] = np.asarray(column, dtype="float64")
    return frame.sort_values("ts", kind="stable", na_position="last").reset_index(drop=True)


def parse_indicator(
    payload: object,
    symbol: str,
    function: str,
    *,
    fallback: Convention = "start",
) -> pd.DataFrame:
    """Parse a ``Technical Analysis: <FUNCTION>`` answer into UTC-stamped float columns."""
    classified = classify_payload(payload)
    raise_unless_data(classified, f"{function} {symbol}")
    if classified.kind is BodyKind.EMPTY:
        return _frame(symbol, pd.Series([], dtype=UTC_NS), {})
    body = require_object(payload, f"{function} answer")
    declared = meta_value(body, "symbol")
    if declared and declared.upper() != symbol.upper():
        raise DataError(f"Alpha Vantage answered {function} for {declared!r} when {symbol!r} was asked for")
    key = find_key(body, "Technical Analysis")
    if key is None:
        raise DataError(f"Alpha Vantage {function} answer has no 'Technical Analysis' section")
    series = require_object(body[key], repr(key))
    stamps = list(series)
    rows = [require_object(v, f"{function} row") for v in series.values()]
    names = sorted({_column(k) for row in rows for k in row})
    values = {n: nums(next((v for k, v in row.items() if _column(k) == n), None) for row in rows) for n in names}
    local = parse_local_times(stamps)
    ts = _stamp(local, meta_value(body, "interval"), vendor_tz(body), fallback=fallback)
    return _frame(symbol, ts, values)


def parse_indicator_csv(
    body: str,
    symbol: str,
    interval: str,
    *,
    fallback: Convention = "start",
    partial_ok: bool = False,
) -> pd.DataFrame:
    """Parse a ``datatype=csv`` indicator answer (``time,SMA``) like its JSON form."""
    table = read_csv_table(body, partial_ok=partial_ok)
    ts_col = table.column("time", "timestamp", "date")
    if ts_col is None:
        raise DataError(f"Alpha Vantage indicator CSV has no time column (header: {', '.join(table.header)[:200]})")
    local = parse_local_times([row[ts_col] for row in table.rows])
    values = {_column(name): nums(row[i] for row in table.rows) for i, name in enumerate(table.header) if i != ts_col}
    ts = _stamp(local, interval, VENDOR_TZ, fallback=fallback)
    return _frame(symbol, ts, values)


IndicatorName = Literal["RSI", "SMA", "MACD"]
