"""Faults keep the loop alive, show in health and lose no state: a raising model, a locked or full DB."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy.exc import OperationalError

from papertrader.core.errors import TemporaryError
from papertrader.engine.recorder import BatchRecorder
from papertrader.features.view import FeatureView
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import CycleRecord, RunInfo, RunRepository
from papertrader.signals.base import Decision, Strategy
from support import EngineFactory


class FlakyStrategy:
    """Wraps a real strategy and raises on chosen cycles (a model crashing mid-run)."""

    def __init__(self, inner: Strategy, failing: set[int]) -> None:
        self.inner, self.failing, self.name = inner, failing, inner.name

    def required_features(self) -> tuple[str, ...]:
        return self.inner.required_features()

    def decide(self, ts: datetime, view: FeatureView) -> Decision:
        if view.k in self.failing:
            raise RuntimeError("model weights corrupted")
        return self.inner.decide(ts, view)


class FailingRepository(RunRepository):
    """A real repository whose commits fail for a while, like a locked database or a full disk."""

    def __init__(self, engine: object, failures: list[Exception]) -> None:
        super().__init__(engine)  # type: ignore[arg-type]
        self.failures = failures

    def record_cycles(self, run_id: str, records: Sequence[CycleRecord]) -> int:
        if self.failures:
            raise self.failures.pop(0)
        return super().record_cycles(run_id, records)


def _bars(etf_daily: pd.DataFrame) -> pd.DataFrame:
    return etf_daily[(etf_daily["ts"] < pd.Timestamp("2004-01-01", tz="UTC"))]


def test_a_raising_model_means_hold_and_the_loop_goes_on(
    etf_daily: pd.DataFrame, engine_factory: EngineFactory
) -> None:
    engine, events = engine_factory(_bars(etf_daily))
    failing = set(range(300, 320))
    engine.strategy = FlakyStrategy(engine.strategy, failing)
    outcomes = engine.run()
    assert len(outcomes) == len(engine.panel)
    health = [(e.payload["component"], e.payload["status"], e.ts) for e in events if e.kind == "health"]
    signals = [(c, s) for c, s, _ in health if c == "signals"]
    assert ("signals", "down") in signals and signals[-1] == ("signals", "ok")
    failing_times = {engine.panel.close_times[k] for k in failing}
    assert not [e for e in events if e.kind == "order.submitted" and e.ts in failing_times]


def test_locked_or_full_database_keeps_cycles_and_commits_them_later(
    etf_daily: pd.DataFrame, engine_factory: EngineFactory, tmp_path: Path
) -> None:
    bars = _bars(etf_daily)
    reference, _ = engine_factory(bars)
    ref_outcomes = reference.run()

    db = make_engine(f"sqlite:///{tmp_path / 'faults.db'}")
    init_db(db)
    faults: list[Exception] = [TemporaryError("database is locked")] * 5 + [
        OperationalError("INSERT", {}, Exception("database or disk is full"))
    ] * 5
    repo = FailingRepository(db, faults)
    engine, events = engine_factory(bars)
    repo.create_run(
        RunInfo(
            "faulty",
            "replay",
            "1d",
            engine.panel.symbols,
            None,
            None,
            engine.ledger.initial_cash,
            {},
            datetime.now().astimezone(),
        )
    )
    engine.recorder = BatchRecorder(repo, "faulty", every=1)
    outcomes = engine.run()
    assert engine.recorder.backlog == 0
    assert [o.valuation for o in outcomes] == [o.valuation for o in ref_outcomes]
    statuses = [e.payload["status"] for e in events if e.kind == "health" and e.payload["component"] == "database"]
    assert statuses[:2] == ["degraded", "ok"] or statuses == ["degraded", "ok"]
    stored = repo.load_equity("faulty", exact=True)
    assert list(stored["cycle"]) == list(range(len(engine.panel)))
    assert list(stored["equity"]) == [o.valuation.equity for o in ref_outcomes]
    assert [f.seq for f in repo.load_fills("faulty")] == list(range(1, sum(len(o.fills) for o in outcomes) + 1))
