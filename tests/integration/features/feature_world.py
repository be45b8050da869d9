"""A multi-symbol world for the pipeline tests: real bars and macro series, small hand-made side data.

Bars: real daily ETFs or hourly/minute stocks from ../shared/data. Macro: the real bundled series.
Fundamentals, news and the earnings calendar have no real offline source, so they are small frames in
the vendors' shapes, spread over the bars' dates (seeded, reproducible).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from papertrader.features.inputs import External, FeatureInputs
from support import SHARED


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


@functools.lru_cache(maxsize=1)
def bundled_macro() -> dict[str, pd.DataFrame]:
    """The real macro series of the bundled source."""
    from papertrader.data.adapters.bundled import BundledSource

    return dict(BundledSource().series())


def fundamentals(symbols: tuple[str, ...], start: pd.Timestamp, end: pd.Timestamp, seed: int = 0) -> pd.DataFrame:
    """Quarterly reports (EPS, estimate, net income, balance sheet) published ~3-6 weeks after each quarter."""
    rng = np.random.default_rng(seed)
    rows = []
    for symbol in symbols:
        eps = rng.uniform(0.5, 2.0)
        for fiscal in pd.date_range(start.tz_localize(None) - pd.Timedelta(days=400), end.tz_localize(None), freq="QE"):
            eps *= rng.uniform(0.9, 1.12)
            equity = rng.uniform(20e9, 30e9)
            rows.append(
                {
                    "symbol": symbol,
                    "fiscal_date_ending": fiscal,
                    "available_at": (fiscal + pd.Timedelta(days=int(rng.integers(20, 45)), hours=21)).tz_localize(
                        "UTC"
                    ),
                    "reported_eps": eps,
                    "estimated_eps": eps * rng.uniform(0.95, 1.05),
                    "net_income": eps * 1e9,
                    "total_equity": equity,
                    "total_liabilities": equity * rng.uniform(1, 5),
                    "total_assets": equity * rng.uniform(3, 7),
                }
            )
    return pd.DataFrame(rows)


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
