"""Real 1-minute SPY/IBM/BAC/AIG trade and quote bars (2013-10-04..11) from ../shared/data, as BarSlices."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from papertrader.execution.broker import BarSlice
from papertrader.execution.market import QuoteSlice

MINUTES = Path(__file__).resolve().parents[4] / "shared" / "data" / "equity-us" / "1m"
NY = "America/New_York"


def _read(name: str) -> pd.DataFrame:
    path = MINUTES / f"{name}.csv.gz"
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    df = pd.read_csv(path)
    df["ts"] = pd.to_datetime(df["timestamp"], utc=True)
    return df


@functools.cache
def trades(symbol: str) -> pd.DataFrame:
    """Raw trade minute bars (extended hours included), with a UTC `ts` column."""
    return _read(f"{symbol}-trade-2013-10")


@functools.cache
def quotes(symbol: str) -> pd.DataFrame:
    """Raw bid/ask minute bars, with a UTC `ts` column."""
    return _read(f"{symbol}-quote-2013-10")


def bars(symbol: str) -> list[BarSlice]:
    """Every trade minute of one symbol as a one-symbol BarSlice (bar start = ts, 1 minute long)."""
    df = trades(symbol)
    ohlcv = df[["open", "high", "low", "close", "volume"]].to_numpy(dtype=np.float64)
    out = []
    for k, ts in enumerate(df["ts"]):
        start = ts.to_pydatetime()
        row = ohlcv[k]
        out.append(BarSlice(k, start, start + timedelta(minutes=1), *(row[j : j + 1] for j in range(5))))
    return out


def quote_at(symbol: str, at: datetime) -> QuoteSlice | None:
    """The real bid and ask at the open of the minute starting at `at`."""
    q = quotes(symbol)
    hit = q[q["ts"] == pd.Timestamp(at)]
    if hit.empty:
        return None
    return QuoteSlice(hit["bid_open"].to_numpy(dtype=np.float64), hit["ask_open"].to_numpy(dtype=np.float64))


def ny(day: str, hhmm: str) -> datetime:
    """A New York wall-clock time as an aware UTC datetime."""
    return pd.Timestamp(f"{day} {hhmm}", tz=NY).tz_convert("UTC").to_pydatetime()


def is_regular(at: datetime) -> bool:
    """09:30 <= New York time < 16:00."""
    local = pd.Timestamp(at).tz_convert(NY)
    minutes = local.hour * 60 + local.minute
    return 9 * 60 + 30 <= minutes < 16 * 60
