"""A ledger whose Alpha Vantage key tables were made by 0.1.0's `create_all` upgrades to the migrated schema: backed
up first, the key budget rows kept, and the key manager still sees the requests spent and the key retired then."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.config.alphavantage import AlphaVantageSettings
from papertrader.core.clock import SimClock
from papertrader.data.adapters.alphavantage.keys import KeyManager, Purpose, Tier, make_key
from papertrader.persistence.db import make_engine
from papertrader.persistence.migrate import HEAD_REVISION

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE = FIXTURES / "ledger-0.1.0-avkeys.db"  # made by fixtures/make_av_keys_fixture.py with the 0.1.0 code
RUN = "release-0.1.0"
FREE, CAPPED = "FREEKEY000000001", "CAPPEDKEY0000002"
LATER = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)  # the same New York day, an hour after the fixture's requests


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A papertrader home whose database is a copy of the 0.1.0 ledger with its key tables."""
    shutil.copyfile(FIXTURE, tmp_path / "papertrader.db")
    monkeypatch.setenv("PAPERTRADER_HOME", str(tmp_path))
    monkeypatch.delenv("PAPERTRADER_DATABASE_URL", raising=False)
    return tmp_path


def _rows(db: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def test_the_fixture_is_a_pre_alembic_ledger_with_key_budget_rows() -> None:
    with sqlite3.connect(FIXTURE) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"av_key_state", "av_key_reservations", "runs"} <= tables and "alembic_version" not in tables
    assert len(_rows(FIXTURE, "av_key_reservations")) == 4


def test_check_upgrades_the_ledger_keeping_the_key_budget_rows_byte_for_byte(home: Path) -> None:
    db = home / "papertrader.db"
    state, reservations = _rows(FIXTURE, "av_key_state"), _rows(FIXTURE, "av_key_reservations")
    result = CliRunner().invoke(app, ["check", RUN])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD_REVISION,)]
    assert (_rows(db, "av_key_state"), _rows(db, "av_key_reservations")) == (state, reservations)
    assert len(list(home.glob("papertrader.db.bak-pre-alembic-*"))) == 1


def test_the_key_manager_upgrades_the_ledger_itself_and_reads_the_old_budget(home: Path) -> None:
    settings = AlphaVantageSettings(_env_file=None)  # type: ignore[call-arg]
    keys = [
        make_key(FREE, Tier.FREE, Purpose.FUNDAMENTALS, settings),
        make_key(CAPPED, Tier.FREE, Purpose.MACRO, settings),
    ]
    engine = make_engine(f"sqlite:///{home / 'papertrader.db'}")
    manager = KeyManager(keys, engine, clock=SimClock(LATER), settings=settings, jitter=lambda: 0.5)
    status = {s.purpose: s for s in manager.status()}
    assert status["fundamentals"].used == 3, "the three requests spent under 0.1.0 still count today"
    assert status["macro"].retired_reason == "daily cap answered"
    assert status["macro"].retired_until is not None and status["macro"].retired_until > LATER
    engine.dispose()
    with sqlite3.connect(home / "papertrader.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD_REVISION,)]
    assert len(list(home.glob("papertrader.db.bak-pre-alembic-*"))) == 1, "backed up before the upgrade"


def test_a_ledger_at_revision_0001_with_create_all_key_tables_upgrades_to_head(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from papertrader.persistence.migrate import MIGRATIONS_DIR, ensure_schema

    db = tmp_path / "papertrader.db"
    shutil.copyfile(FIXTURE, db)
    engine = make_engine(f"sqlite:///{db}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:  # the release before this one: ledger at 0001, key tables made on the side
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    report = ensure_schema(engine, now=lambda: LATER)
    assert (report.action, report.from_revision, report.to_revision) == ("upgraded", "0001", HEAD_REVISION)
    assert report.backup is not None and report.backup.name.startswith("papertrader.db.bak-0001-")
    engine.dispose()
    assert _rows(db, "av_key_reservations") == _rows(FIXTURE, "av_key_reservations")
