"""A ledger written by release 0.1.0 (before Alembic) opens in this release: `papertrader check` upgrades it after a
backup copy and still rebuilds it from its events; a ledger from a newer release is refused with exit code 2."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.persistence.migrate import HEAD_REVISION

FIXTURE = Path(__file__).parent / "fixtures" / "ledger-0.1.0.db"  # made by fixtures/make_ledger_fixture.py
RUN = "release-0.1.0"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A papertrader home whose database is a copy of the 0.1.0 ledger."""
    shutil.copyfile(FIXTURE, tmp_path / "papertrader.db")
    monkeypatch.setenv("PAPERTRADER_HOME", str(tmp_path))
    monkeypatch.delenv("PAPERTRADER_DATABASE_URL", raising=False)
    return tmp_path


def _dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


def _revision(db: Path) -> list[tuple[str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchall()


def test_check_upgrades_a_release_ledger_after_a_backup_and_still_passes(home: Path) -> None:
    result = CliRunner().invoke(app, ["check", RUN])
    assert result.exit_code == 0, result.output
    assert f"ok[/green] run {RUN}" in result.output or f"ok run {RUN}" in result.output
    assert _revision(home / "papertrader.db") == [(HEAD_REVISION,)]
    backups = list(home.glob("papertrader.db.bak-pre-alembic-*"))
    assert len(backups) == 1 and _dump(backups[0]) == _dump(FIXTURE), "the backup is the ledger as it was"
    again = CliRunner().invoke(app, ["check", RUN])
    assert again.exit_code == 0 and len(list(home.glob("*.bak-*"))) == 1, "an upgraded ledger is not copied again"


def test_a_ledger_from_a_newer_release_is_refused_with_exit_2_and_no_traceback(home: Path) -> None:
    assert CliRunner().invoke(app, ["runs"]).exit_code == 0
    with sqlite3.connect(home / "papertrader.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    for command in (["runs"], ["check", RUN]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert "newer release" in result.output and "Traceback" not in result.output
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
