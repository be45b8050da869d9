"""Test support importable as `support` from any test: the path to ../shared/data and a real-engine builder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock
from papertrader.core.events import Event, EventBus
from papertrader.engine.cycle import Engine
from papertrader.engine.panel import Panel
from papertrader.features.technical import TechnicalSpec, compute_technical
from papertrader.signals.trend import TrendFollowing

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_shared_daily(symbol: str) -> pd.DataFrame:
    """Real unadjusted daily bars from shared/data, as long-format bars stamped the papertrader way."""
    path = SHARED / "equity-us" / "1d" / f"{symbol}.csv.gz"
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    df = pd.read_csv(path)
    ts = pd.to_datetime(df["timestamp"]).dt.tz_localize("America/New_York").dt.tz_convert("UTC")
    return pd.DataFrame(
        {
            "symbol": df["symbol"],
            "ts": ts,
            "open": df["open"].astype(float),
            "high": df["high"].astype(float),
            "low": df["low"].astype(float),
            "close": df["close"].astype(float),
            "volume": df["volume"].astype(float),
        }
    )


def load_shared_factors(symbol: str) -> pd.DataFrame:
    """The Lean factor file of a shared symbol (date, price_factor, split_factor, reference_price)."""
    path = SHARED / "equity-us" / "factor_files" / f"{symbol}.csv"
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return pd.read_csv(path)


def build_engine(bars: pd.DataFrame, settings: Settings | None = None) -> tuple[Engine, list[Event]]:
    """An engine over the bars plus the list every published event lands in."""
    settings = settings or Settings()
    panel = Panel.from_long(bars, "1d")
    s = settings.strategy
    features = compute_technical(panel.prices, TechnicalSpec(sma=(s.fast, s.slow)))
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    engine = Engine(
        run_id="test",
        panel=panel,
        features=features,
        strategy=TrendFollowing(len(panel.symbols), s.fast, s.slow),
        settings=settings,
        clock=SimClock(panel.bar(0).open_time),
        bus=bus,
    )
    return engine, events


EngineFactory = Callable[..., tuple[Engine, list[Event]]]
