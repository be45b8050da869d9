"""Real bars and macro series for the feature tests (shared/data and the bundled packages)."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from papertrader.features.inputs import External, FeatureInputs
from papertrader.features.technical import PriceArrays
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


def inputs(bars: pd.DataFrame, interval: str, external: External | None = None) -> FeatureInputs:
    """Feature inputs from long bars."""
    return FeatureInputs.from_long(bars, interval, external)


def one_symbol(bars: pd.DataFrame) -> PriceArrays:
    """A single symbol's bars as (T, 1) arrays."""
    cols = [bars[c].to_numpy(dtype=float)[:, None] for c in ("open", "high", "low", "close", "volume")]
    return PriceArrays(*cols)


@functools.lru_cache(maxsize=1)
def bundled_macro() -> dict[str, pd.DataFrame]:
    """The real macro series the bundled source ships (arch and statsmodels package data)."""
    from papertrader.data.adapters.bundled import BundledSource

    return dict(BundledSource().series())


def ny(text: str) -> pd.Timestamp:
    """A New York wall-clock time as a UTC timestamp."""
    return pd.Timestamp(text, tz="America/New_York").tz_convert("UTC")


def nan_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Exact equality with NaN equal to NaN."""
    return bool(np.array_equal(a, b, equal_nan=True))
