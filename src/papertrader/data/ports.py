"""The ports every data source implements; nothing outside data/adapters knows a vendor's JSON.

All frames are in the lake's conventions (see data/schema.py): bars in long format with `symbol, ts
(bar start, UTC), open, high, low, close, volume`; series with `date` (reference date, UTC) and `value`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import pandas as pd


class BarSource(Protocol):
    """Historical and recent OHLCV bars for one symbol at one interval."""

    name: str

    def fetch_bars(self, symbol: str, interval: str, start: datetime, end: datetime) -> pd.DataFrame:
        """Bars with start <= ts < end; columns of data.schema.BAR_COLUMNS plus optional `adj_factor`."""
        ...


class MacroSource(Protocol):
    """Economic series (CPI, yields, oil, ...) by the project's series name."""

    name: str

    def fetch_series(self, series: str) -> pd.DataFrame:
        """Observations with columns `date` (reference date, UTC) and `value`."""
        ...


class FundamentalsSource(Protocol):
    """Company fundamentals, each row stamped with when it became public."""

    name: str

    def fetch_fundamentals(self, symbol: str) -> pd.DataFrame:
        """Columns: symbol, available_at (UTC), fiscal_date_ending, then one column per metric."""
        ...


class NewsSource(Protocol):
    """Scored news items per symbol."""

    name: str

    def fetch_news(self, symbols: list[str], start: datetime, end: datetime) -> pd.DataFrame:
        """Columns: symbol, published_at (UTC), sentiment (-1..1), relevance (0..1), source, title."""
        ...
