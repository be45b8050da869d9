"""GLOBAL_QUOTE answers into a one-row quote frame (none for an unknown symbol).

Columns: ``symbol, price, open, high, low, volume, previous_close, change, change_pct`` (percent units:
``"-0.5852%"`` is -0.5852), ``latest_trading_day`` (midnight New York of that session, in UTC) and
``delayed`` (True when the vendor labelled the quote ``DATA DELAYED BY 15 MINUTES``).
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from papertrader.data.adapters.alphavantage.classify import BodyKind, classify_payload, raise_unless_data
from papertrader.data.adapters.alphavantage.wire import (
    field_name,
    find_key,
    num,
    parse_local_times,
    require_object,
    text,
)
from papertrader.data.schema import UTC_NS, daily_stamp

QUOTE_COLUMNS: Final = (
    "symbol",
    "price",
    "open",
    "high",
    "low",
    "volume",
    "previous_close",
    "change",
    "change_pct",
    "latest_trading_day",
    "delayed",
)
_NUMERIC: Final = {
    "price": "price",
    "open": "open",
    "high": "high",
    "low": "low",
    "volume": "volume",
    "previous_close": "previous close",
    "change": "change",
    "change_pct": "change percent",
}


def empty_quote() -> pd.DataFrame:
    """A quote frame with no rows and the right dtypes."""
    frame = pd.DataFrame({c: pd.Series([], dtype="float64") for c in QUOTE_COLUMNS})
    frame["symbol"] = pd.Series([], dtype=object)
    frame["latest_trading_day"] = pd.Series([], dtype=UTC_NS)
    frame["delayed"] = pd.Series([], dtype=bool)
    return frame


def parse_global_quote(payload: object, symbol: str | None = None) -> pd.DataFrame:
    """Parse GLOBAL_QUOTE (plain or delayed) into one row; an unknown symbol gives an empty frame."""
    classified = classify_payload(payload)
    raise_unless_data(classified, f"quote {symbol or ''}".strip())
    if classified.kind is BodyKind.EMPTY:
        return empty_quote()
    body = require_object(payload, "quote answer")
    key = find_key(body, "Global Quote")
    if key is None:
        return empty_quote() if not body else _missing(body)
    fields = {field_name(k): v for k, v in require_object(body[key], repr(key)).items()}
    if not fields:
        return empty_quote()
    row: dict[str, object] = {"symbol": text(fields.get("symbol")) or symbol}
    for column, name in _NUMERIC.items():
        row[column] = num(fields.get(name))
    row["latest_trading_day"] = pd.NaT
    row["delayed"] = "delayed" in key.lower()
    frame = pd.DataFrame([row], columns=list(QUOTE_COLUMNS))
    day = parse_local_times([fields.get("latest trading day")])
    frame["latest_trading_day"] = daily_stamp(day).reset_index(drop=True).astype(UTC_NS)
    return frame


def _missing(body: object) -> pd.DataFrame:
    from papertrader.core.errors import DataError

    keys = ", ".join(map(str, body))[:200] if isinstance(body, dict) else ""
    raise DataError(f"Alpha Vantage quote answer has no 'Global Quote' section (keys: {keys})")
