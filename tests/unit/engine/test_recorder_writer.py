"""The commit off the decision path: a writer thread commits each cycle, settled before the next bar's fills."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy.exc import OperationalError
from test_fault_injection import FailingRepository

from papertrader.core.errors import TemporaryError
from papertrader.engine.recorder import BatchRecorder
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import CycleRecord, RunInfo, RunRepository
from support import EngineFactory


def _bars(etf_daily: pd.DataFrame) -> pd.DataFrame:
    return etf_daily[(etf_daily["ts"] < pd.Timestamp("2002-01-01", tz="UTC"))]


def _run_row(repo: RunRepository, run_id: str, symbols: Sequence[str], cash: object) -> None:
    repo.create_run(RunInfo(run_id, "replay", "1d", tuple(symbols), None, None, cash, {}, datetime.now().astimezone()))  # type: ignore[arg-type]


class WatchingRepository(RunRepository):
    """A real repository that notes which thread committed and what was committed when each cycle began."""

    def __init__(self, engine: object) -> None:
        super().__init__(engine)  # type: ignore[arg-type]
        self.threads: set[str] = set()

    def record_cycles(self, run_id: str, records: Sequence[CycleRecord]) -> int:
        self.threads.add(threading.current_thread().name)
        return super().record_cycles(run_id, records)


def test_the_writer_thread_commits_every_cycle_and_each_step_starts_with_the_previous_one_durable(
    etf_daily: pd.DataFrame, engine_factory: EngineFactory, tmp_path: Path
) -> None:
    reference, _ = engine_factory(_bars(etf_daily))
    ref = reference.run()
    db = make_engine(f"sqlite:///{tmp_path / 'writer.db'}")
    init_db(db)
    repo = WatchingRepository(db)
    engine, _ = engine_factory(_bars(etf_daily))
    _run_row(repo, "w", engine.panel.symbols, engine.ledger.initial_cash)
    recorder = BatchRecorder(repo, "w", every=1, background=True)
    assert recorder.background
    engine.recorder = recorder
    on_bars = engine.broker.on_bars
    durable: list[tuple[int, int]] = []  # (cycle whose bar is filling, last committed cycle at that moment)

    def fill_after_commit(*args, **kwargs):  # type: ignore[no-untyped-def]
        row = repo.get_run("w")
        assert row is not None
        durable.append((len(durable), row.last_cycle))
        return on_bars(*args, **kwargs)

    engine.broker.on_bars = fill_after_commit  # type: ignore[method-assign]
    outcomes = engine.run()
    assert [o.valuation for o in outcomes] == [o.valuation for o in ref]
    recorder.flush()
    # every bar's fills ran with the previous cycle (its orders) already committed
    assert durable == [(k, k - 1) for k in range(len(engine.panel))]
    assert repo.threads and all(name.startswith("commit-w") for name in repo.threads)
    stored = repo.load_equity("w", exact=True)
    assert list(stored["cycle"]) == list(range(len(engine.panel)))
    assert list(stored["equity"]) == [o.valuation.equity for o in ref]
    recorder.close()


def test_a_failed_background_commit_keeps_its_cycles_retries_them_and_degrades_the_database(
    etf_daily: pd.DataFrame, engine_factory: EngineFactory, tmp_path: Path
) -> None:
    reference, _ = engine_factory(_bars(etf_daily))
    ref = reference.run()
    db = make_engine(f"sqlite:///{tmp_path / 'faults.db'}")
    init_db(db)
    faults: list[Exception] = [TemporaryError("database is locked")] * 3 + [
        OperationalError("INSERT", {}, Exception("database or disk is full"))
    ] * 3
    repo = FailingRepository(db, faults)
    engine, events = engine_factory(_bars(etf_daily))
    _run_row(repo, "faulty", engine.panel.symbols, engine.ledger.initial_cash)
    recorder = BatchRecorder(repo, "faulty", every=1, background=True)
    engine.recorder = recorder
    outcomes = engine.run()
    recorder.finish("finished", {})
    assert recorder.backlog == 0
    assert [o.valuation for o in outcomes] == [o.valuation for o in ref]
    statuses = [e.payload["status"] for e in events if e.kind == "health" and e.payload["component"] == "database"]
    assert "degraded" in statuses and statuses[-1] == "ok"
    stored = repo.load_equity("faulty", exact=True)
    assert list(stored["cycle"]) == list(range(len(engine.panel)))
    assert [f.seq for f in repo.load_fills("faulty")] == list(range(1, sum(len(o.fills) for o in outcomes) + 1))


def test_an_in_memory_database_commits_on_the_callers_thread() -> None:
    db = make_engine("sqlite://")
    init_db(db)
    assert not BatchRecorder(RunRepository(db), "m", background=True).background
