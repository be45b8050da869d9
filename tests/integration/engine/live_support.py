"""Helpers for the simulated live-day tests: real hourly bars from shared/data, a lake, a database, an orchestrator."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from papertrader.config.live import LiveSettings
from papertrader.config.settings import Settings, StrategySettings
from papertrader.core.clock import SimClock
from papertrader.data.store import Lake
from papertrader.domain.sessions import NEW_YORK
from papertrader.engine.feed import BarFeed, RecordedFeed
from papertrader.engine.orchestrator import LiveOrchestrator, LiveRequest
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import RunRepository
from support import SHARED

SYMBOLS = ("AAPL", "IBM", "SPY")
#: history ends before Thursday 2019-05-23; live days Thu, Fri, (weekend, Memorial Day), Tue, Wed
LIVE_FROM = date(2019, 5, 23)


def load_shared_hourly(symbols: Sequence[str], start: str, end: str) -> pd.DataFrame:
    """Real hourly bars (bar start stamps, New York) from shared/data between two dates, in lake format."""
    frames = []
    for symbol in symbols:
        path = SHARED / "equity-us" / "1h" / f"{symbol}.csv.gz"
        if not path.exists():
            pytest.skip(f"shared data not available: {path}")
        df = pd.read_csv(path)
        ts = pd.to_datetime(df["timestamp"], utc=True)
        keep = (ts >= pd.Timestamp(start, tz=NEW_YORK)) & (ts < pd.Timestamp(end, tz=NEW_YORK))
        df, ts = df.loc[keep], ts[keep]
        frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "ts": ts,
                    **{c: df[c].astype(float) for c in ("open", "high", "low", "close", "volume")},
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def live_settings(home: Path, **live: Any) -> Settings:
    """Settings with fast moving averages (so a few hourly days trade) and the given live options."""
    return Settings(
        home=home,
        strategy=StrategySettings(fast=5, slow=20),
        live=LiveSettings(**{"retrain_weekdays": (), **live}),
    )


def prepared_home(tmp_path: Path, history_from: str = "2019-02-20") -> tuple[Path, pd.DataFrame]:
    """A home whose lake holds the history before LIVE_FROM, and the recorded bars of the live days."""
    history = load_shared_hourly(SYMBOLS, history_from, LIVE_FROM.isoformat())
    lake = Lake(tmp_path / "lake")
    lake.write_bars(history, "1h", "shared-test")
    live_bars = load_shared_hourly(SYMBOLS, LIVE_FROM.isoformat(), "2019-06-01")
    return tmp_path, live_bars


def repository(settings: Settings) -> RunRepository:
    """The run database of a home."""
    db = make_engine(settings.db_url)
    init_db(db)
    return RunRepository(db)


def at(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """A New York wall time."""
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=NEW_YORK)


def orchestrator(
    settings: Settings,
    feed: BarFeed | RecordedFeed,
    clock: SimClock,
    *,
    run_id: str = "live",
    days: int | None = 1,
    resume: bool = False,
    **kwargs: Any,
) -> LiveOrchestrator:
    """A live orchestrator over the home's lake and database, driven by a simulated clock."""
    return LiveOrchestrator(
        settings,
        LiveRequest(SYMBOLS, "1h", run_id=run_id, resume=resume, days=days),
        feed=feed,
        clock=clock,
        lake=Lake(settings.lake_dir),
        repo=repository(settings),
        **kwargs,
    )


def stripped_state(repo: RunRepository, run_id: str) -> dict[str, object]:
    """Orders, fills and equity of a run with the run id taken out of the order ids."""
    strip = len(run_id)
    equity = repo.load_equity(run_id, exact=True)
    return {
        "orders": [
            (o.id[strip:], o.symbol, o.side, o.qty, o.status, o.filled_qty, o.avg_fill_price, o.created_at)
            for o in repo.load_orders(run_id)
        ],
        "fills": [
            (f.order_id[strip:], f.seq, f.symbol, f.side, f.qty, f.price, f.fee, f.ts) for f in repo.load_fills(run_id)
        ],
        "cash": list(equity["cash"]),
        "equity": list(equity["equity"]),
        "ts": list(equity["ts"]),
        "cycles": list(equity["cycle"]),
    }


Hook = Callable[[datetime, RecordedFeed], None]


class ScriptedFeed:
    """A recorded feed whose faults are switched by the time of each request (the test's script)."""

    def __init__(self, inner: RecordedFeed, script: Hook) -> None:
        self.inner = inner
        self.script = script

    def fetch(self, symbols: Sequence[str], interval: str, since: datetime, now: datetime) -> Any:
        """Apply the script for `now`, then ask the recorded feed."""
        self.script(now, self.inner)
        return self.inner.fetch(symbols, interval, since, now)
