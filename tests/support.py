"""Test support importable as `support` from any test: the path to ../shared/data and a real-engine builder."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock, WallClock
from papertrader.core.events import EventBus
from papertrader.domain.events import DomainEvent
from papertrader.engine.cycle import Engine
from papertrader.engine.panel import Panel
from papertrader.engine.recorder import BatchRecorder
from papertrader.features.technical import TechnicalSpec, compute_technical
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import RunInfo, RunRepository
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


def build_engine(bars: pd.DataFrame, settings: Settings | None = None) -> tuple[Engine, list[DomainEvent]]:
    """An engine over the bars plus the list every published event lands in."""
    settings = settings or Settings()
    panel = Panel.from_long(bars, "1d")
    s = settings.strategy
    features = compute_technical(panel.prices, TechnicalSpec(sma=(s.fast, s.slow)))
    bus = EventBus()
    events: list[DomainEvent] = []
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


def record_run(
    settings: Settings, bars: pd.DataFrame, cycles: int, run_id: str = "run-a", finish: bool = True, every: int = 1
) -> tuple[RunRepository, Engine]:
    """Run the real trend engine for `cycles` cycles into the settings' database, committing every `every`
    cycles as a replay does, and mark the run finished unless asked not to."""
    db = make_engine(settings.db_url)
    init_db(db)
    repo = RunRepository(db)
    engine, _ = build_engine(bars, settings)
    engine.run_id = run_id
    panel = engine.panel
    repo.create_run(
        RunInfo(
            id=run_id,
            mode="replay",
            interval="1d",
            symbols=panel.symbols,
            start=panel.ts[0].to_pydatetime(),
            end=panel.ts[-1].to_pydatetime(),
            initial_cash=engine.ledger.initial_cash,
            config=settings.model_dump(mode="json", exclude={"home", "database_url"}),
            created_at=WallClock().now(),
        )
    )
    recorder = BatchRecorder(repo, run_id, every=every)
    engine.recorder = recorder
    for k in range(min(cycles, len(panel))):
        engine.step(k)
    recorder.flush()
    if finish:
        recorder.finish("finished", {"final_equity": float(engine.ledger.value(engine.marks()).equity)})
    return repo, engine


EngineFactory = Callable[..., tuple[Engine, list[DomainEvent]]]


@functools.lru_cache(maxsize=1)
def bundled_macro() -> dict[str, pd.DataFrame]:
    """The real macro series of the bundled source."""
    from papertrader.data.adapters.bundled import BundledSource

    return dict(BundledSource().series())


def fundamentals(symbols: tuple[str, ...], start: pd.Timestamp, end: pd.Timestamp, seed: int = 0) -> pd.DataFrame:
    """Hand-made (seeded) quarterly reports in Alpha Vantage's shape, published ~3-6 weeks after each quarter."""
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
