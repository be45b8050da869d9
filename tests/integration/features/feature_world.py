"""A multi-symbol world for the pipeline tests: real bars and macro series, small hand-made side data.

Bars: real daily ETFs or hourly/minute stocks from ../shared/data. Macro: the real bundled series.
Fundamentals, news and the earnings calendar have no real offline source, so they are small frames in
the vendors' shapes, spread over the bars' dates (seeded, reproducible).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from papertrader.features.inputs import External, FeatureInputs
from support import SHARED, bundled_macro, fundamentals


def load_bars(folder: str, symbols: tuple[str, ...], name: str = "{symbol}.csv.gz") -> pd.DataFrame:
    """Long bars (symbol, ts UTC, open..volume) from shared/data/equity-us/<folder>."""
    frames = []
    for symbol in symbols:
        path = SHARED / "equity-us" / folder / name.format(symbol=symbol)
        if not path.exists():
            pytest.skip(f"shared data not available: {path}")
        df = pd.read_csv(path)
        if folder == "1d":
            ts = pd.to_datetime(df["timestamp"]).dt.tz_localize("America/New_York").dt.tz_convert("UTC")
        else:
            ts = pd.to_datetime(df["timestamp"], utc=True)
        frames.append(df.drop(columns="timestamp").assign(ts=ts))
    return pd.concat(frames, ignore_index=True)


def news(
    symbols: tuple[str, ...], start: pd.Timestamp, end: pd.Timestamp, per_day: float = 2.0, seed: int = 0
) -> pd.DataFrame:
    """Scored items at random instants (any time of day, weekends too)."""
    rng = np.random.default_rng(seed)
    n = int((end - start) / pd.Timedelta(days=1) * per_day)
    published = start + (end - start) * rng.random(n)
    return pd.DataFrame(
        {
            "symbol": rng.choice(list(symbols), n),
            "published_at": pd.DatetimeIndex(published).round("s"),
            "sentiment": rng.uniform(-1, 1, n),
            "relevance": rng.uniform(0.05, 1, n),
            "source": "hand-made",
            "title": "item",
        }
    )


def earnings(reports: pd.DataFrame) -> pd.DataFrame:
    """A calendar of the report dates, each announced four weeks ahead."""
    report_date = pd.DatetimeIndex(reports["available_at"]).tz_convert("America/New_York").normalize().tz_localize(None)
    return pd.DataFrame(
        {
            "symbol": reports["symbol"],
            "report_date": report_date,
            "announced_at": pd.DatetimeIndex(reports["available_at"]) - pd.Timedelta(days=28),
        }
    )


def world(bars: pd.DataFrame, interval: str, seed: int = 0) -> FeatureInputs:
    """Feature inputs with every kind of side data."""
    inp = FeatureInputs.from_long(bars, interval)
    start, end = inp.ts[0], inp.ts[-1]
    reports = fundamentals(inp.symbols, start, end, seed)
    side = External(
        macro=bundled_macro(),
        fundamentals=reports,
        news=news(inp.symbols, start - pd.Timedelta(days=5), end + pd.Timedelta(days=5), seed=seed),
        earnings=earnings(reports),
    )
    return inp.with_external(side)
