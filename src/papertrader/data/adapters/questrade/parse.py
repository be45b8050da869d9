"""Turn Questrade JSON bodies (time, markets, accounts, symbol search, candles) into typed values.

Every malformed shape is a DataError naming the field; nothing else escapes. Timestamps are ISO-8601 with an
offset (``2026-03-03T16:48:34.140000-05:00``) and come back timezone-aware in UTC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from papertrader.core.errors import DataError
from papertrader.data.schema import UTC_NS

#: Years a market timestamp may plausibly carry (pandas' nanosecond range ends in 2262).
_EARLIEST, _LATEST = 1900, 2200


@dataclass(frozen=True)
class Market:
    """One market's venues and today's session times."""

    name: str
    trading_venues: tuple[str, ...]
    default_trading_venue: str | None
    extended_start: datetime | None
    start: datetime | None
    end: datetime | None
    extended_end: datetime | None


@dataclass(frozen=True)
class Account:
    """One brokerage account (type, number, status)."""

    type: str
    number: str
    status: str
    is_primary: bool
    is_billing: bool
    client_account_type: str | None


@dataclass(frozen=True)
class SymbolInfo:
    """One symbol-search hit: the ticker as Questrade spells it and its numeric id."""

    symbol: str
    symbol_id: int
    listing_exchange: str | None
    currency: str | None
    description: str | None
    security_type: str | None


def _obj(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise DataError(f"Questrade body: {what} is {type(value).__name__}, expected an object")
    return value


def _list(value: object, what: str) -> Sequence[object]:
    if not isinstance(value, list):
        raise DataError(f"Questrade body: {what} is {type(value).__name__}, expected an array")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise DataError(f"Questrade body: {what} is {value!r:.40}, expected a non-empty string")
    return value


def _opt_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"Questrade body: {what} is {value!r:.40}, expected a number")
    try:
        return float(value)
    except OverflowError:
        raise DataError(f"Questrade body: {what} is too large") from None


def parse_iso(value: object, what: str) -> datetime:
    """An ISO-8601 time with an explicit offset, as aware UTC; a naive or garbled one is a DataError."""
    if not isinstance(value, str) or len(value) > 64:
        raise DataError(f"Questrade body: {what} is {value!r:.40}, expected an ISO-8601 time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DataError(f"Questrade body: {what} {value!r:.40} is not an ISO-8601 time") from None
    if parsed.tzinfo is None:
        raise DataError(f"Questrade body: {what} {value!r:.40} has no UTC offset")
    try:
        utc = parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise DataError(f"Questrade body: {what} {value!r:.40} is out of range") from None
    if not _EARLIEST <= utc.year <= _LATEST:
        raise DataError(f"Questrade body: {what} {value!r:.40} is out of range")
    return utc


def _opt_iso(value: object, what: str) -> datetime | None:
    return None if value is None else parse_iso(value, what)


def parse_time(body: object) -> datetime:
    """GET v1/time -> the server's current time (UTC)."""
    return parse_iso(_obj(body, "time body").get("time"), "time")


def parse_markets(body: object) -> tuple[Market, ...]:
    """GET v1/markets -> each market's venues and session times."""
    out = []
    for i, item in enumerate(_list(_obj(body, "markets body").get("markets"), "markets")):
        m = _obj(item, f"markets[{i}]")
        venues = m.get("tradingVenues", [])
        out.append(
            Market(
                name=_text(m.get("name"), f"markets[{i}].name"),
                trading_venues=tuple(str(v) for v in _list(venues, f"markets[{i}].tradingVenues")),
                default_trading_venue=_opt_text(m.get("defaultTradingVenue")),
                extended_start=_opt_iso(m.get("extendedStartTime"), f"markets[{i}].extendedStartTime"),
                start=_opt_iso(m.get("startTime"), f"markets[{i}].startTime"),
                end=_opt_iso(m.get("endTime"), f"markets[{i}].endTime"),
                extended_end=_opt_iso(m.get("extendedEndTime"), f"markets[{i}].extendedEndTime"),
            )
        )
    return tuple(out)


def parse_accounts(body: object) -> tuple[Account, ...]:
    """GET v1/accounts -> the login's accounts."""
    out = []
    for i, item in enumerate(_list(_obj(body, "accounts body").get("accounts"), "accounts")):
        a = _obj(item, f"accounts[{i}]")
        number = a.get("number")
        if isinstance(number, int) and not isinstance(number, bool):
            number = str(number)
        out.append(
            Account(
                type=_text(a.get("type"), f"accounts[{i}].type"),
                number=_text(number, f"accounts[{i}].number"),
                status=_text(a.get("status"), f"accounts[{i}].status"),
                is_primary=a.get("isPrimary") is True,
                is_billing=a.get("isBilling") is True,
                client_account_type=_opt_text(a.get("clientAccountType")),
            )
        )
    return tuple(out)


def parse_symbols(body: object) -> tuple[SymbolInfo, ...]:
    """GET v1/symbols/search -> the hits, with their numeric symbolIds."""
    out = []
    for i, item in enumerate(_list(_obj(body, "symbols body").get("symbols"), "symbols")):
        s = _obj(item, f"symbols[{i}]")
        sid = s.get("symbolId")
        if isinstance(sid, bool) or not isinstance(sid, int) or sid <= 0:
            raise DataError(f"Questrade body: symbols[{i}].symbolId is {sid!r:.30}, expected a positive integer")
        out.append(
            SymbolInfo(
                symbol=_text(s.get("symbol"), f"symbols[{i}].symbol"),
                symbol_id=sid,
                listing_exchange=_opt_text(s.get("listingExchange")),
                currency=_opt_text(s.get("currency")),
                description=_opt_text(s.get("description")),
                security_type=_opt_text(s.get("securityType")),
            )
        )
    return tuple(out)


def parse_candles(body: object) -> pd.DataFrame:
    """GET v1/markets/candles/{id} -> columns start, end (UTC), open, high, low, close, volume (float64)."""
    items = _list(_obj(body, "candles body").get("candles"), "candles")
    starts: list[datetime] = []
    ends: list[datetime] = []
    values: dict[str, list[float]] = {k: [] for k in ("open", "high", "low", "close", "volume")}
    for i, item in enumerate(items):
        c = _obj(item, f"candles[{i}]")
        starts.append(parse_iso(c.get("start"), f"candles[{i}].start"))
        ends.append(parse_iso(c.get("end"), f"candles[{i}].end"))
        for key in values:
            raw = c.get(key)
            values[key].append(math.nan if raw is None else _number(raw, f"candles[{i}].{key}"))
    frame: dict[str, object] = {
        "start": pd.Series(pd.to_datetime(starts, utc=True), dtype=UTC_NS),
        "end": pd.Series(pd.to_datetime(ends, utc=True), dtype=UTC_NS),
    }
    for key, vals in values.items():
        arr: npt.NDArray[np.float64] = np.asarray(vals, dtype=np.float64)
        frame[key] = arr
    return pd.DataFrame(frame)
