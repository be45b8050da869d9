"""Shared fixtures for the persistence tests: a file-backed SQLite engine and a small deterministic run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from persistence_scenario import INITIAL_CASH, RUN_ID, T0, build_cycles
from sqlalchemy import Engine

from papertrader.persistence import CycleRecord, RunInfo, RunRepository, init_db, make_engine


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nested' / 'dir' / 'papertrader.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    init_db(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def repo(engine: Engine) -> RunRepository:
    return RunRepository(engine)


@pytest.fixture
def run_info() -> RunInfo:
    return RunInfo(
        id=RUN_ID,
        mode="backtest",
        interval="1d",
        symbols=("AAPL", "MSFT"),
        start=T0,
        end=T0 + timedelta(days=30),
        initial_cash=INITIAL_CASH,
        config={"risk": {"max_weight": Decimal("0.25")}, "seed": 7},
        created_at=T0,
    )


@pytest.fixture
def run_id(repo: RunRepository, run_info: RunInfo) -> str:
    repo.create_run(run_info)
    return run_info.id


@pytest.fixture
def cycles() -> Callable[[str, int], list[CycleRecord]]:
    return build_cycles
