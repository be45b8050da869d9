"""Turn a decoded v8 chart body into typed arrays, or a DataError saying what is wrong with it.

Only the structure is checked here; prices are not judged (the lake's quality rules do that) and nothing
is adjusted (see adjust.py). A body without a ``timestamp`` key is an empty range (Yahoo's answer for a
weekend or holiday), not an error. ``null`` inside the arrays becomes NaN; rows whose open, high, low and
close are all null are Yahoo's placeholders for "no trade" and are counted and dropped by the caller.
"""

from __future__ import annotations

import json
import math
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from papertrader.core.arrays import FloatArray, IntArray
from papertrader.core.errors import DataError, TemporaryError

#: Epoch seconds outside this range cannot be stored as nanosecond timestamps.
_TS_LIMIT: Final = 2**33
_QUOTE_FIELDS: Final = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Split:
    """A split effective at the session containing `ts` (epoch seconds): new shares per old = ratio."""

    ts: int
    numerator: float
    denominator: float

    @property
    def ratio(self) -> float:
        """Shares after per share before (4.0 for a 4:1 split)."""
        return self.numerator / self.denominator


@dataclass(frozen=True)
class Dividend:
    """A cash dividend going ex at the session containing `ts`, in Yahoo's (split-adjusted) units."""

    ts: int
    amount: float


@dataclass(frozen=True)
class ChartPayload:
    """One chart result as arrays of equal length, prices as Yahoo sent them (split-adjusted)."""

    symbol: str
    timezone: str
    currency: str | None
    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    adjclose: FloatArray | None
    splits: tuple[Split, ...] = field(default=())
    dividends: tuple[Dividend, ...] = field(default=())

    def __len__(self) -> int:
        """Number of bars (rows) in the payload."""
        return int(self.ts.shape[0])


def decode_json(content: bytes) -> object:
    """Decode a 200 body; a cut-off or non-JSON body is a TemporaryError, because a retry usually works."""
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise TemporaryError(
            f"Yahoo sent a truncated or non-JSON body ({len(content)} bytes): {exc}; retry later"
        ) from exc


def chart_error(body: object) -> tuple[str, str] | None:
    """The (code, description) of a chart-level error object, or None when the body carries none."""
    if not isinstance(body, Mapping):
        return None
    chart = body.get("chart")
    if not isinstance(chart, Mapping):
        return None
    error = chart.get("error")
    if error is None:
        return None
    if isinstance(error, Mapping):
        return str(error.get("code", "?"))[:100], str(error.get("description", ""))[:300]
    return "?", str(error)[:300]


def _mapping(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise DataError(f"Yahoo chart body: {what} is {type(value).__name__}, expected an object")
    return value


def _sequence(value: object, what: str) -> Sequence[object]:
    if not isinstance(value, list):
        raise DataError(f"Yahoo chart body: {what} is {type(value).__name__}, expected an array")
    return value


def _number(value: object, what: str) -> float:
    """A JSON number (null -> NaN); booleans and strings are malformed, not numbers."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"Yahoo chart body: {what} holds {value!r:.40}, expected a number or null")
    try:
        return float(value)
    except OverflowError as exc:
        raise DataError(f"Yahoo chart body: {what} holds a number too large for a float") from exc


def _epoch(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"Yahoo chart body: {what} is {value!r:.40}, expected epoch seconds")
    if not math.isfinite(value) or abs(value) >= _TS_LIMIT:
        raise DataError(f"Yahoo chart body: {what} {value!r:.40} is not a plausible epoch second")
    return int(value)


def _timezone(meta: Mapping[str, object]) -> str:
    name = meta.get("exchangeTimezoneName")
    if not isinstance(name, str) or not name:
        raise DataError("Yahoo chart body: meta.exchangeTimezoneName is missing; cannot localise bars")
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, KeyError, OSError, UnicodeError) as exc:
        raise DataError(f"Yahoo chart body: unknown exchangeTimezoneName {name!r:.60}") from exc
    return name


def _column(values: object, n: int, what: str) -> FloatArray:
    items = _sequence(values, what)
    if len(items) != n:
        raise DataError(f"Yahoo chart body: {what} has {len(items)} values for {n} timestamps")
    return np.array([_number(v, what) for v in items], dtype=np.float64)


def _event_ts(key: object, entry: Mapping[str, object], what: str) -> int:
    """An event's `date`, or its key (Yahoo keys events by their epoch second) when `date` is absent."""
    value = entry.get("date")
    if value is None and isinstance(key, str) and key.isascii() and key.isdigit() and len(key) < 20:
        value = int(key)
    return _epoch(value, what)


def _splits(events: Mapping[str, object]) -> tuple[Split, ...]:
    raw = events.get("splits")
    if raw is None:
        return ()
    out = []
    for key, item in _mapping(raw, "events.splits").items():
        entry = _mapping(item, f"events.splits[{key!r:.30}]")
        ts = _event_ts(key, entry, "split date")
        num = _number(entry.get("numerator"), "split numerator")
        den = _number(entry.get("denominator"), "split denominator")
        if not (math.isfinite(num) and math.isfinite(den) and num > 0 and den > 0):
            raise DataError(f"Yahoo chart body: split at {ts} has ratio {num!r}:{den!r}; expected positive")
        out.append(Split(ts, num, den))
    return tuple(sorted(out, key=lambda s: s.ts))


def _dividends(events: Mapping[str, object]) -> tuple[Dividend, ...]:
    raw = events.get("dividends")
    if raw is None:
        return ()
    out = []
    for key, item in _mapping(raw, "events.dividends").items():
        entry = _mapping(item, f"events.dividends[{key!r:.30}]")
        ts = _event_ts(key, entry, "dividend date")
        amount = _number(entry.get("amount"), "dividend amount")
        if not (math.isfinite(amount) and amount >= 0):
            raise DataError(f"Yahoo chart body: dividend at {ts} has amount {amount!r}; expected >= 0")
        out.append(Dividend(ts, amount))
    return tuple(sorted(out, key=lambda d: d.ts))


def parse_chart(body: object) -> ChartPayload:
    """Validate a decoded chart body and return its arrays; chart errors and bad shapes are DataErrors."""
    error = chart_error(body)
    if error is not None:
        code, description = error
        raise DataError(f"Yahoo chart error {code}: {description}")
    chart = _mapping(_mapping(body, "body").get("chart"), "chart")
    results = _sequence(chart.get("result"), "chart.result")
    if not results:
        raise DataError("Yahoo chart body: chart.result is empty")
    result = _mapping(results[0], "chart.result[0]")
    meta = _mapping(result.get("meta"), "meta")
    symbol = meta.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise DataError("Yahoo chart body: meta.symbol is missing")
    currency = meta.get("currency")
    events = result.get("events")
    events_map = _mapping(events, "events") if events is not None else {}
    splits, dividends = _splits(events_map), _dividends(events_map)
    raw_ts = result.get("timestamp")
    if raw_ts is None:
        empty = np.array([], dtype=np.float64)
        tz = meta.get("exchangeTimezoneName")
        return ChartPayload(
            symbol,
            tz if isinstance(tz, str) and tz else "UTC",
            currency if isinstance(currency, str) else None,
            np.array([], dtype=np.int64),
            empty,
            empty,
            empty,
            empty,
            empty,
            None,
            splits,
            dividends,
        )
    timezone = _timezone(meta)
    ts = np.array([_epoch(v, "timestamp") for v in _sequence(raw_ts, "timestamp")], dtype=np.int64)
    n = len(ts)
    indicators = _mapping(result.get("indicators"), "indicators")
    quotes = _sequence(indicators.get("quote"), "indicators.quote")
    if not quotes:
        raise DataError("Yahoo chart body: indicators.quote is empty while timestamps exist")
    quote = _mapping(quotes[0], "indicators.quote[0]")
    columns = {name: _column(quote.get(name), n, f"quote.{name}") for name in _QUOTE_FIELDS}
    adjclose: FloatArray | None = None
    adj_list = indicators.get("adjclose")
    if adj_list is not None:
        adj_items = _sequence(adj_list, "indicators.adjclose")
        if adj_items:
            adj_entry = _mapping(adj_items[0], "indicators.adjclose[0]")
            if "adjclose" in adj_entry:
                adjclose = _column(adj_entry.get("adjclose"), n, "adjclose")
    return ChartPayload(
        symbol=symbol,
        timezone=timezone,
        currency=currency if isinstance(currency, str) else None,
        ts=ts,
        open=columns["open"],
        high=columns["high"],
        low=columns["low"],
        close=columns["close"],
        volume=columns["volume"],
        adjclose=adjclose,
        splits=splits,
        dividends=dividends,
    )
