"""REALTIME_BULK_QUOTES answers (premium, up to 100 symbols a request) into a quotes frame, bad rows quarantined.

Wire format (Alpha Vantage documentation; the tests use hand-made bodies in this shape, no recording exists):
``{"endpoint": "Realtime Bulk Quotes", "message": "...", "data": [{"symbol": "MSFT", "timestamp":
"2024-07-31 15:59:58.123", "open", "high", "low", "close", "volume", "previous_close", "change",
"change_percent", "extended_hours_quote", "extended_hours_change", "extended_hours_change_percent"}]}`` with
every value a string and the timestamp naive US/Eastern. Errors and throttles arrive with HTTP 200 like every
other function (``Information`` / ``Note`` / ``Error Message``); a key without the entitlement gets a body
whose ``message`` says so and no ``data``. A row without a finite positive price, a parsable timestamp or a
requested symbol is quarantined with its reason; the rest of the answer is kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import pandas as pd

from papertrader.core.errors import DataError
from papertrader.data.adapters.alphavantage.classify import (
    BodyKind,
    PremiumEndpointError,
    classify_payload,
    raise_unless_data,
)
from papertrader.data.adapters.alphavantage.wire import localize_utc, num, parse_local_times, text
from papertrader.data.schema import UTC_NS

#: most symbols one REALTIME_BULK_QUOTES request takes
BULK_LIMIT: Final = 100
VENDOR_TZ: Final = "America/New_York"


@dataclass(frozen=True)
class BulkAnswer:
    """One answer: a quote per symbol (symbol, price, ts, volume, delayed) and the rows set aside, with why."""

    quotes: pd.DataFrame
    quarantined: Mapping[str, str] = field(default_factory=dict)


def _frame(symbols: list[str], prices: list[float], stamps: pd.Series, volumes: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": pd.Series(symbols, dtype=object),
            "price": pd.Series(prices, dtype="float64"),
            "ts": pd.Series(stamps.to_numpy(), dtype=UTC_NS),
            "volume": pd.Series(volumes, dtype="float64"),
            "delayed": pd.Series([False] * len(symbols), dtype=bool),
        }
    )


def parse_bulk_quotes(payload: object, requested: Sequence[str]) -> BulkAnswer:
    """Parse one answer for `requested`; error bodies raise the mapped error, malformed rows are quarantined."""
    classified = classify_payload(payload)
    raise_unless_data(classified, f"bulk quotes ({len(requested)} symbols)")
    empty = _frame([], [], pd.Series([], dtype=UTC_NS), [])
    if classified.kind is BodyKind.EMPTY or not isinstance(payload, dict):
        return BulkAnswer(empty)
    rows = payload.get("data")
    if rows is None:
        message = text(payload.get("message")) or ""
        if "premium" in message.lower() or "entitle" in message.lower():
            raise PremiumEndpointError(f"Alpha Vantage bulk quotes need a premium key with realtime access: {message}")
        raise DataError(
            f"Alpha Vantage bulk quotes answer has no 'data' list (keys: {', '.join(map(str, payload))[:200]})"
        )
    if not isinstance(rows, list):
        raise DataError(f"Alpha Vantage bulk quotes 'data' is a {type(rows).__name__}, not a list")
    wanted = {s.upper() for s in requested}
    quarantined: dict[str, str] = {}
    symbols: list[str] = []
    prices: list[float] = []
    volumes: list[float] = []
    times: list[object] = []
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            quarantined[f"#{n}"] = f"row is a {type(row).__name__}, not an object"
            continue
        symbol = (text(row.get("symbol")) or "").upper()
        price = num(row.get("close"))
        if not symbol:
            quarantined[f"#{n}"] = "row has no symbol"
        elif symbol not in wanted:
            quarantined[symbol] = "symbol was not requested"
        elif not math.isfinite(price) or price <= 0:
            quarantined[symbol] = f"price {row.get('close')!r} is not a finite positive number"
        else:
            symbols.append(symbol)
            prices.append(price)
            volumes.append(num(row.get("volume")))
            times.append(row.get("timestamp"))
    stamps = localize_utc(parse_local_times(times), VENDOR_TZ) if times else pd.Series([], dtype=UTC_NS)
    bad = stamps.isna().to_numpy()
    for i in bad.nonzero()[0]:
        quarantined[symbols[i]] = f"timestamp {times[i]!r} is not a New York time"
    keep = ~bad
    frame = _frame(
        [s for s, k in zip(symbols, keep, strict=True) if k],
        [p for p, k in zip(prices, keep, strict=True) if k],
        stamps[keep].reset_index(drop=True),
        [v for v, k in zip(volumes, keep, strict=True) if k],
    )
    frame = frame.drop_duplicates("symbol", keep="last").reset_index(drop=True)
    return BulkAnswer(frame, quarantined)
