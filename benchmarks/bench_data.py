"""Benchmark inputs built from real bars: a 1,000,000-bar single-symbol path and a 200-symbol universe.

No real series has a million bars, so the path chains real ones by their returns. Each source series
(hourly bars of SPY, AAPL, IBM, BAC, AIG 1998-2021 and the 1-minute trade bars of SPY 2011 and
SPY/IBM/BAC/AIG 2013-10, all from ../shared/data) becomes per-bar ratios open/high/low/close over the
previous close. Overnight gaps beyond +-20% (unadjusted splits, a few crash gaps) are zeroed, and each
series' mean log return is removed so that every segment ends at the level it started (a 23-year AAPL
would otherwise carry the level up 100-fold per pass). The segments are played one after another,
repeated in the same order until the length is reached, and priced from 100 in whole cents; volumes are
the real ones. Stamps are consecutive XNYS regular-session minutes from 2000-01-03, so the engine sees a
real calendar. The path measures speed: its P&L means nothing.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import exchange_calendars as xcals
import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "equity-us"
HOURLY = ("SPY", "AAPL", "IBM", "BAC", "AIG")
MINUTE = ("SPY-trade-2011", "SPY-trade-2013-10", "IBM-trade-2013-10", "BAC-trade-2013-10", "AIG-trade-2013-10")
MAX_GAP = 0.2
HOW = (
    "real bars chained by their returns: hourly SPY/AAPL/IBM/BAC/AIG 1998-2021 and 1-minute SPY 2011 and "
    "SPY/IBM/BAC/AIG 2013-10 from shared/data, split-size gaps (>20%) zeroed, each series' mean return "
    "removed, segments repeated in order until the length is reached, priced from 100 in cents, stamped on "
    "consecutive XNYS regular-session minutes from 2000-01-03"
)


def available() -> bool:
    """Whether the shared real data the benchmarks need is present."""
    return (SHARED / "1h" / "SPY.csv.gz").exists()


def _ratios(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per-bar (open, high, low, close) over the previous close, gap- and drift-corrected, and volumes."""
    o, h, lo, c = (df[f].to_numpy(dtype=np.float64) for f in ("open", "high", "low", "close"))
    prev = np.concatenate([[o[0]], c[:-1]])
    gap = np.abs(np.log(o / prev)) > MAX_GAP
    prev = np.where(gap, o, prev)  # a split-size gap opens where the last bar closed
    r = np.stack([o / prev, h / prev, lo / prev, c / prev], axis=1)
    drift = np.log(r[:, 3]).mean()
    return r * np.exp(-drift), df["volume"].to_numpy(dtype=np.float64)


@lru_cache(maxsize=1)
def _segments() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    files = [SHARED / "1h" / f"{s}.csv.gz" for s in HOURLY] + [SHARED / "1m" / f"{s}.csv.gz" for s in MINUTE]
    out = []
    for path in files:
        df = pd.read_csv(path).dropna(subset=["open", "high", "low", "close"])
        df = df[(df[["open", "high", "low", "close"]] > 0).all(axis=1)]
        out.append(_ratios(df))
    return tuple(out)


def real_bar_count() -> int:
    """How many real bars the path is chained from (before repetition)."""
    return sum(len(v) for _, v in _segments())


@lru_cache(maxsize=4)
def minute_stamps(n: int) -> pd.DatetimeIndex:
    """The first n regular-session minutes of XNYS from 2000-01-03 (bar starts, UTC)."""
    cal = xcals.get_calendar("XNYS", start="2000-01-03")
    sessions = cal.sessions[: n // 390 + 40]
    minutes = cal.sessions_minutes(sessions[0], sessions[-1])
    return pd.DatetimeIndex(minutes[:n])


def path_bars(n: int, symbol: str = "PATH") -> pd.DataFrame:
    """n chained bars of one symbol in papertrader's long format (symbol, ts, OHLCV)."""
    segs = _segments()
    ratios, volumes, total = [], [], 0
    while total < n:
        for r, v in segs:
            ratios.append(r)
            volumes.append(v)
            total += len(v)
    r = np.concatenate(ratios)[:n]
    close = 100.0 * np.cumprod(r[:, 3])
    prev = np.concatenate([[100.0], close[:-1]])
    o, h, lo, c = (np.round(prev * r[:, j], 2) for j in range(4))
    h = np.maximum.reduce([h, o, c])
    lo = np.minimum.reduce([lo, o, c])
    return pd.DataFrame(
        {
            "symbol": symbol,
            "ts": minute_stamps(n),
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": np.maximum(np.concatenate(volumes)[:n], 1.0),
        }
    )


def universe_bars(n_symbols: int, bars_each: int) -> pd.DataFrame:
    """n_symbols symbols of bars_each daily bars each, cut from consecutive stretches of the chained path."""
    path = path_bars(n_symbols * bars_each)
    cal = xcals.get_calendar("XNYS", start="2000-01-03")
    days = pd.DatetimeIndex(cal.sessions[:bars_each]).tz_localize("America/New_York").tz_convert("UTC")
    frames = []
    for j in range(n_symbols):
        part = path.iloc[j * bars_each : (j + 1) * bars_each].copy()
        scale = 100.0 / float(part["open"].iloc[0])
        for f in ("open", "high", "low", "close"):
            part[f] = np.round(part[f].to_numpy() * scale, 2)
        part["symbol"] = f"S{j:03d}"
        part["ts"] = days
        frames.append(part)
    return pd.concat(frames, ignore_index=True)
