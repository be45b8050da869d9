"""Engines: SQLite pragmas are on, data is visible across connections and survives a killed process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect, text, update
from sqlalchemy.engine import make_url

from papertrader.persistence import (
    CycleRecord,
    RunInfo,
    RunModel,
    RunRepository,
    init_db,
    is_sqlite_memory,
    make_engine,
)

Cycles = Callable[[str, int], list[CycleRecord]]


def test_wal_mode_and_safety_pragmas_are_on_for_every_connection(engine: Engine) -> None:
    for _ in range(2):  # a second pooled/fresh connection gets the same settings
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_make_engine_creates_the_parent_directory(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c.db"
    eng = make_engine(f"sqlite:///{target}")
    init_db(eng)
    eng.dispose()
    assert target.exists()


def test_init_db_is_idempotent_and_creates_every_table(engine: Engine) -> None:
    init_db(engine)
    init_db(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"runs", "orders", "fills", "positions", "equity", "events"} <= tables
    index_names = {ix["name"] for t in ("orders", "fills", "equity", "events") for ix in inspect(engine).get_indexes(t)}
    assert {"ix_orders_run_created", "ix_fills_run_ts", "ix_equity_run_ts", "ix_events_run_ts"} <= index_names


def test_memory_urls_are_recognised() -> None:
    assert is_sqlite_memory(make_url("sqlite://"))
    assert is_sqlite_memory(make_url("sqlite:///:memory:"))
    assert not is_sqlite_memory(make_url("sqlite:///x.db"))
    assert not is_sqlite_memory(make_url("postgresql://u@h/db"))


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_database_is_shared_by_all_connections(url: str, run_info: RunInfo, cycles: Cycles) -> None:
    eng = make_engine(url)
    init_db(eng)
    writer, reader = RunRepository(eng), RunRepository(eng)
    writer.create_run(run_info)
    writer.record_cycles(run_info.id, cycles(run_info.id, 3))
    with eng.connect() as a, eng.connect() as b:  # two checkouts, one database
        assert a.exec_driver_sql("SELECT count(*) FROM equity").scalar() == 3
        assert b.exec_driver_sql("SELECT count(*) FROM fills").scalar() == 2
    assert reader.get_run(run_info.id) is not None
    assert len(reader.load_orders(run_info.id)) == 3
    eng.dispose()


def test_a_second_engine_sees_committed_cycles(db_url: str, repo: RunRepository, run_id: str, cycles: Cycles) -> None:
    other = make_engine(db_url)  # another process would open its own engine like this
    try:
        reader = RunRepository(other)
        assert reader.load_equity(run_id).empty
        repo.record_cycles(run_id, cycles(run_id, 4))
        row = reader.get_run(run_id)
        assert row is not None and row.last_cycle == 3
        assert len(reader.load_equity(run_id)) == 4
        assert reader.load_fills(run_id) == repo.load_fills(run_id)
    finally:
        other.dispose()


def test_readers_are_not_blocked_by_an_open_write_and_see_only_committed_state(
    db_url: str, engine: Engine, repo: RunRepository, run_id: str
) -> None:
    other = make_engine(db_url)

    @event.listens_for(other, "connect")
    def _never_wait(dbapi_conn: Any, _record: Any) -> None:  # after make_engine's pragmas: a lock wait raises
        dbapi_conn.execute("PRAGMA busy_timeout=0")

    try:
        reader = RunRepository(other)
        with engine.begin() as conn:
            conn.execute(update(RunModel).where(RunModel.id == run_id).values(last_cycle=99))
            row = reader.get_run(run_id)  # WAL: no wait for the writer's lock (busy_timeout 0 would raise)
            assert row is not None and row.last_cycle == -1
        row = reader.get_run(run_id)
        assert row is not None and row.last_cycle == 99
    finally:
        other.dispose()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_committed_cycles_survive_a_killed_process(db_url: str, run_id: str, repo: RunRepository) -> None:
    tests_dir = Path(__file__).parent
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(tests_dir)!r})
        from persistence_scenario import build_cycles
        from papertrader.persistence import RunRepository, make_engine
        repo = RunRepository(make_engine({db_url!r}))
        repo.record_cycles({run_id!r}, build_cycles({run_id!r}, 5))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    row = repo.get_run(run_id)
    assert row is not None and row.last_cycle == 4
    assert len(repo.load_fills(run_id)) == 4
    assert len(repo.load_equity(run_id)) == 5
    assert os.path.exists(make_url(db_url).database or "")


def test_sqlite_tables_store_money_as_text_and_exposure_as_float(engine: Engine) -> None:
    with engine.connect() as conn:
        cols = {row[1]: row[2] for row in conn.execute(text("PRAGMA table_info(equity)"))}
    assert cols["cash"] == "TEXT"
    assert cols["gross_exposure"] == "FLOAT"
