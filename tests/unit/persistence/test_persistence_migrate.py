"""The ledger schema is versioned with Alembic: a fresh database is stamped, a create_all ledger is adopted after a
backup, a newer one is refused, and the shipped revisions build exactly the schema the models declare."""

from __future__ import annotations

import sqlite3
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from papertrader.persistence.db import SQLITE_BEGIN_OPTION, init_db, make_engine
from papertrader.persistence.migrate import (
    HEAD_REVISION,
    MIGRATIONS_DIR,
    PRE_ALEMBIC,
    SchemaError,
    ensure_schema,
    known_revisions,
    script_head,
    stored_revision,
)
from papertrader.persistence.models import Base

NOW = datetime(2026, 12, 7, 17, 30, 5, tzinfo=UTC)


def _engine(tmp_path: Path, name: str = "papertrader.db") -> Engine:
    return make_engine(f"sqlite:///{tmp_path / name}")


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return stored_revision(conn)


def test_head_revision_constant_is_the_head_of_the_shipped_scripts() -> None:
    assert script_head() == HEAD_REVISION
    assert HEAD_REVISION in known_revisions()


def test_a_fresh_database_is_created_from_the_models_and_stamped_at_head(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    report = ensure_schema(engine, now=lambda: NOW)
    assert (report.action, report.from_revision, report.backup) == ("created", None, None)
    assert _revision(engine) == HEAD_REVISION
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    assert ensure_schema(engine).action == "current", "a second start does nothing"
    assert not list(tmp_path.glob("*.bak-*")), "nothing to back up on a fresh database"


def test_the_shipped_migrations_build_exactly_the_schema_the_models_declare(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], "a model changed without a migration: add a revision under persistence/migrations/versions"
    assert _revision(engine) == HEAD_REVISION


def test_a_pre_alembic_ledger_is_backed_up_owner_only_then_stamped_keeping_its_rows(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    Base.metadata.create_all(engine)  # how every release before Alembic made the schema
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO runs (id, mode, status, created_at, interval, symbols, initial_cash, config, last_cycle)"
                " VALUES ('old', 'replay', 'finished', '2026-01-02 00:00:00.000000', '1d', '[\"SPY\"]', '1000',"
                " '{}', 7)"
            )
        )
    assert _revision(engine) == PRE_ALEMBIC
    report = ensure_schema(engine, now=lambda: NOW)
    assert (report.action, report.from_revision, report.to_revision) == ("upgraded", PRE_ALEMBIC, HEAD_REVISION)
    assert report.backup == tmp_path / "papertrader.db.bak-pre-alembic-20261207T173005Z"
    assert stat.S_IMODE(report.backup.stat().st_mode) == 0o600, "the backup holds the ledger: owner-only like it"
    with sqlite3.connect(report.backup) as copy:
        assert copy.execute("SELECT last_cycle FROM runs WHERE id = 'old'").fetchone() == (7,)
        assert not copy.execute("SELECT name FROM sqlite_master WHERE name = 'alembic_version'").fetchall()
    assert _revision(engine) == HEAD_REVISION
    with engine.connect() as conn:
        assert conn.execute(text("SELECT last_cycle FROM runs WHERE id = 'old'")).scalar_one() == 7


def test_a_pre_alembic_ledger_missing_a_table_gets_it_and_its_indexes(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    Base.metadata.create_all(engine, tables=[Base.metadata.tables["runs"]])
    ensure_schema(engine, now=lambda: NOW)
    inspector = inspect(engine)
    assert set(Base.metadata.tables) <= set(inspector.get_table_names())
    assert {i["name"] for i in inspector.get_indexes("fills")} == {"ix_fills_order", "ix_fills_run_ts"}


def test_a_pre_alembic_ledger_lacking_a_column_is_refused_and_left_untouched(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE orders DROP COLUMN extended_hours"))
    with pytest.raises(SchemaError, match=r"orders\.extended_hours.*untouched copy is .*bak-pre-alembic"):
        ensure_schema(engine, now=lambda: NOW)
    assert _revision(engine) == PRE_ALEMBIC, "the failed upgrade rolled back: no stamp"


def test_a_database_from_a_newer_release_is_refused_with_what_to_do(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    init_db(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    with pytest.raises(SchemaError, match=r"revision 'f00dfeed'.*newer release.*pip install -U papertrader"):
        init_db(engine)
    assert _revision(engine) == "f00dfeed", "a refused database is never modified"
    assert not list(tmp_path.glob("*.bak-*")), "no backup: nothing was about to change"


def test_an_in_memory_database_is_created_and_stamped_without_a_backup() -> None:
    engine = make_engine("sqlite://")
    assert ensure_schema(engine).action == "created"
    assert ensure_schema(engine).action == "current"


def test_starts_racing_on_a_pre_alembic_ledger_upgrade_and_back_it_up_exactly_once(tmp_path: Path) -> None:
    Base.metadata.create_all(_engine(tmp_path))
    engines = [_engine(tmp_path) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(lambda engine: ensure_schema(engine, now=lambda: NOW), engines))
    assert sorted(r.action for r in reports) == ["current", "current", "current", "upgraded"]
    assert len(list(tmp_path.glob("*.bak-*"))) == 1
    assert _revision(engines[0]) == HEAD_REVISION


def test_the_usual_start_reads_only_so_it_never_waits_for_a_writer(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    init_db(engine)
    writer = _engine(tmp_path).connect().execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
    with writer.begin():  # a running engine holding the write lock
        assert ensure_schema(_engine(tmp_path)).action == "current"
    writer.close()
