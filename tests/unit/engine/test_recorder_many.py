"""`BatchRecorder.record_many` (a quiet stretch in one hand-over) stores what recording each cycle stores."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pandas as pd

from papertrader.config.settings import RiskSettings, Settings
from papertrader.core.events import EventBus
from papertrader.engine.recorder import BatchRecorder
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import CycleRecord, RunInfo, RunRepository
from support import build_engine, load_shared_daily

TABLES = ("equity", "events", "orders", "fills", "positions")


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as con:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}


def _recorded(tmp_path: Path, name: str, sparse: bool, every: int) -> dict[str, list[tuple[object, ...]]]:
    bars = load_shared_daily("AAPL")
    ts = pd.to_datetime(bars["ts"], utc=True)
    bars = bars[(ts >= pd.Timestamp("2009-01-01", tz="UTC")) & (ts < pd.Timestamp("2011-01-01", tz="UTC"))]
    engine, _ = build_engine(bars, Settings(risk=RiskSettings(max_drawdown=0.2)))
    path = tmp_path / f"{name}.db"
    db = make_engine(f"sqlite:///{path}")
    init_db(db)
    repo = RunRepository(db)
    cash = engine.ledger.initial_cash
    repo.create_run(
        RunInfo("r", "backtest", "1d", engine.panel.symbols, None, None, cash, {}, datetime.now().astimezone())
    )
    engine.run_id = "r"
    engine.bus = EventBus()  # nobody listens: only the recorder reads the quiet cycles
    recorder = CountingRecorder(repo, "r", every=every)
    engine.recorder = recorder
    engine.run(sparse=sparse)
    recorder.flush()
    assert (engine.sparse is not None) == sparse
    assert (recorder.handed_over > 100) == sparse, "the quiet stretches went over in bulk"
    return _rows(path)


class CountingRecorder(BatchRecorder):
    """A real batch recorder that counts the cycles handed over by `record_many`."""

    handed_over = 0

    def record_many(self, records: list[CycleRecord]) -> None:
        self.handed_over += len(records)
        super().record_many(records)


def test_quiet_stretches_handed_over_at_once_store_the_rows_of_stepping_every_cycle_on_real_bars(
    tmp_path: Path,
) -> None:
    every_cycle = _recorded(tmp_path, "full", sparse=False, every=1)
    handed_over = _recorded(tmp_path, "sparse", sparse=True, every=7)
    assert len(every_cycle["equity"]) > 400 and len(every_cycle["fills"]) > 0
    assert handed_over == every_cycle
