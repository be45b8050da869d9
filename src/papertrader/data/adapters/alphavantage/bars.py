"""Time series answers (intraday, daily, daily adjusted, CSV) into the lake's long bars frame, in UTC.

Output columns: ``data.schema.BAR_COLUMNS`` (``symbol, ts, open, high, low, close, volume``), oldest first;
``ts`` is the bar START in UTC:

* intraday: the vendor's naive timestamps are wall-clock times in the meta data's ``Time Zone``
  (US/Eastern), localized explicitly; whether they label bar starts or ends is detected per answer (see
  ``labels``) unless the caller fixes it; end labels are moved back one interval;
* daily: the session date stamped at midnight America/New_York (``data.schema.daily_stamp``).

Daily adjusted answers keep the RAW (as traded) open/high/low/close/volume and add ``adjusted_close``,
``dividend_amount``, ``split_coefficient`` and ``adj_factor = adjusted_close / close``: multiply raw prices
by ``adj_factor`` (and divide volume by it) for split- and dividend-adjusted series, as the bundled
source does. Values that are missing or not numbers become NaN and are left for the lake's quality rules
to quarantine with a reason; structural problems raise ``DataError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from papertrader.core.errors import DataError
from papertrader.data.adapters.alphavantage.classify import BodyKind, classify_payload, raise_unless_data
from papertrader.data.adapters.alphavantage.csvbody import read_csv_table
from papertrader.data.adapters.alphavantage.labels import Convention, bar_starts, detect_convention
from papertrader.data.adapters.alphavantage.wire import (
    VENDOR_TZ,
    field_name,
    find_key,
    localize_utc,
    meta_value,
    nums,
    parse_local_times,
    require_object,
    vendor_tz,
)
from papertrader.data.schema import BAR_COLUMNS, UTC_NS, VALUE_COLUMNS, daily_stamp, empty_bars

#: Alpha Vantage's intraday interval spellings and their length in minutes.
AV_INTERVALS: Final = {"1min": 1, "5min": 5, "15min": 15, "30min": 30, "60min": 60}
#: The project's canonical intervals (data.schema) in Alpha Vantage's spelling.
TO_AV_INTERVAL: Final = {"1m": "1min", "5m": "5min", "15m": "15min", "30m": "30min", "1h": "60min"}
ADJUSTED_COLUMNS: Final = ("adjusted_close", "dividend_amount", "split_coefficient", "adj_factor")

LabelMode = Literal["auto", "start", "end"]
_PAREN: Final = re.compile(r"\(([^)]*)\)")


def av_interval(interval: str) -> str:
    """Alpha Vantage's spelling of an intraday interval ('5m' or '5min' -> '5min'); DataError otherwise."""
    key = str(interval).strip().lower()
    key = TO_AV_INTERVAL.get(key, key)
    if key not in AV_INTERVALS:
        raise DataError(f"Alpha Vantage intraday interval must be one of {', '.join(AV_INTERVALS)}, got {interval!r}")
    return key


def _check_symbol(payload: Mapping[str, Any], symbol: str) -> None:
    declared = meta_value(payload, "symbol")
    if declared and declared.upper() != symbol.upper():
        raise DataError(f"Alpha Vantage answered for symbol {declared!r} when {symbol!r} was asked for")


def _series(payload: Mapping[str, Any], prefix: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The data map's timestamps and its rows with un-numbered, lower-cased field names."""
    key = find_key(payload, prefix)
    if key is None:
        raise DataError(f"Alpha Vantage answer has no {prefix!r} section (keys: {', '.join(map(str, payload))[:200]})")
    series = require_object(payload[key], f"{key!r}")
    stamps = [str(k) for k in series]
    rows = [
        {field_name(f): v for f, v in require_object(row, f"row {stamp!r}").items()}
        for stamp, row in zip(stamps, series.values(), strict=True)
    ]
    return stamps, rows


def _frame(symbol: str, ts: pd.Series, values: Mapping[str, np.ndarray[Any, Any]]) -> pd.DataFrame:
    stamps = ts.reset_index(drop=True).astype(UTC_NS) if len(ts) else pd.Series([], dtype=UTC_NS)
    frame = pd.DataFrame({"symbol": pd.Series([symbol] * len(stamps), dtype=object), "ts": stamps})
    for name, column in values.items():
        frame[name] = np.asarray(column, dtype="float64")
    frame = frame.sort_values("ts", kind="stable", na_position="last").reset_index(drop=True)
    return frame


def _intraday_ts(local: pd.Series, minutes: int, tz: str, *, label: LabelMode, fallback: Convention) -> pd.Series:
    convention = detect_convention(local, fallback=fallback) if label == "auto" else label
    return localize_utc(bar_starts(local, convention, minutes), tz)


def parse_intraday(
    payload: object,
    symbol: str,
    interval: str,
    *,
    label: LabelMode = "auto",
    fallback: Convention = "start",
) -> pd.DataFrame:
    """Parse TIME_SERIES_INTRADAY JSON into UTC bars stamped at bar start (labels detected from the data)."""
    iv = av_interval(interval)
    classified = classify_payload(payload)
    raise_unless_data(classified, f"intraday {symbol} {iv}")
    if classified.kind is BodyKind.EMPTY:
        return empty_bars()
    body = require_object(payload, "intraday answer")
    _check_symbol(body, symbol)
    key = find_key(body, "Time Series")
    if key is not None:
        declared = _PAREN.search(key)
        if declared and declared.group(1).strip().lower() != iv:
            raise DataError(f"Alpha Vantage answered with {key!r} when {iv} bars were asked for")
    stamps, rows = _series(body, "Time Series")
    local = parse_local_times(stamps)
    ts = _intraday_ts(local, AV_INTERVALS[iv], vendor_tz(body), label=label, fallback=fallback)
    return _frame(symbol, ts, {c: nums(r.get(c) for r in rows) for c in VALUE_COLUMNS})


def parse_daily(payload: object, symbol: str) -> pd.DataFrame:
    """Parse TIME_SERIES_DAILY JSON into daily bars stamped at midnight New York (UTC); values raw."""
    classified = classify_payload(payload)
    raise_unless_data(classified, f"daily {symbol}")
    if classified.kind is BodyKind.EMPTY:
        return empty_bars()
    body = require_object(payload, "daily answer")
    _check_symbol(body, symbol)
    stamps, rows = _series(body, "Time Series")
    ts = daily_stamp(parse_local_times(stamps))
    return _frame(symbol, ts, {c: nums(r.get(c) for r in rows) for c in VALUE_COLUMNS})


def _with_factor(frame: pd.DataFrame) -> pd.DataFrame:
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = frame["adjusted_close"].to_numpy(dtype="float64") / frame["close"].to_numpy(dtype="float64")
    frame["adj_factor"] = np.where(np.isfinite(factor), factor, np.nan)
    return frame


def empty_adjusted() -> pd.DataFrame:
    """An empty daily-adjusted frame with every column, so callers never special-case 'no data'."""
    frame = empty_bars()
    for column in ADJUSTED_COLUMNS:
        frame[column] = pd.Series([], dtype="float64")
    return frame


def parse_daily_adjusted(payload: object, symbol: str) -> pd.DataFrame:
    """Parse TIME_SERIES_DAILY_ADJUSTED JSON: raw bars plus adjusted_close, dividend, split and adj_factor."""
    classified = classify_payload(payload)
    raise_unless_data(classified, f"daily adjusted {symbol}")
    if classified.kind is BodyKind.EMPTY:
        return empty_adjusted()
    body = require_object(payload, "daily adjusted answer")
    _check_symbol(body, symbol)
    stamps, rows = _series(body, "Time Series")
    ts = daily_stamp(parse_local_times(stamps))
    columns = {c: nums(r.get(c) for r in rows) for c in VALUE_COLUMNS}
    columns["adjusted_close"] = nums(r.get("adjusted close") for r in rows)
    columns["dividend_amount"] = nums(r.get("dividend amount") for r in rows)
    columns["split_coefficient"] = nums(r.get("split coefficient") for r in rows)
    return _with_factor(_frame(symbol, ts, columns))


def parse_bars_csv(
    body: str,
    symbol: str,
    interval: str,
    *,
    label: LabelMode = "auto",
    fallback: Convention = "start",
    partial_ok: bool = False,
) -> pd.DataFrame:
    """Parse a ``datatype=csv`` time series (intraday, daily or daily adjusted) into UTC bars."""
    table = read_csv_table(body, partial_ok=partial_ok)
    ts_col = table.column("timestamp", "time", "date", "datetime")
    indexes = {c: table.column(c) for c in VALUE_COLUMNS}
    missing = [c for c, i in indexes.items() if i is None]
    if ts_col is None or missing:
        raise DataError(
            f"Alpha Vantage CSV has no {'timestamp' if ts_col is None else ', '.join(missing)} column "
            f"(header: {', '.join(table.header)[:200]})"
        )
    stamps = [row[ts_col] for row in table.rows]
    local = parse_local_times(stamps)
    columns = {c: nums(row[i] for row in table.rows) for c, i in indexes.items() if i is not None}
    adjusted = table.column("adjusted_close", "adjusted close")
    daily = str(interval).strip().lower() in ("1d", "d", "day", "daily")
    if daily:
        ts = daily_stamp(local)
    else:
        ts = _intraday_ts(
            local,
            AV_INTERVALS[av_interval(interval)],
            VENDOR_TZ,
            label=label,
            fallback=fallback,
        )
    if adjusted is None:
        frame = _frame(symbol, ts, columns)
        return frame if len(frame) else empty_bars()
    columns["adjusted_close"] = nums(row[adjusted] for row in table.rows)
    for name in ("dividend_amount", "split_coefficient"):
        index = table.column(name, name.replace("_", " "))
        columns[name] = nums(row[index] for row in table.rows) if index is not None else np.full(len(stamps), np.nan)
    frame = _with_factor(_frame(symbol, ts, columns))
    return frame if len(frame) else empty_adjusted()


def bars_only(frame: pd.DataFrame, *, with_factor: bool = False) -> pd.DataFrame:
    """Keep the BarSource columns (plus ``adj_factor`` when asked and present)."""
    columns = list(BAR_COLUMNS)
    if with_factor and "adj_factor" in frame.columns:
        columns.append("adj_factor")
    return frame.loc[:, columns].reset_index(drop=True)
