"""State is owner-only: the home 0700, the SQLite database and its WAL/SHM files 0600, the lake 0700."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from papertrader.config.settings import load_settings
from papertrader.core.private import private_dir, private_file
from papertrader.data.store import Lake
from papertrader.persistence.db import init_db, make_engine
from support import load_shared_daily


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default, under which the files used to be 0755 / 0644
    yield
    os.umask(old)


def test_a_new_home_is_0700_and_an_existing_loose_one_is_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: None
) -> None:
    home = tmp_path / "a" / "home"
    monkeypatch.setenv("PAPERTRADER_HOME", str(home))
    assert load_settings().home == home
    assert _mode(home) == 0o700 and _mode(home.parent) == 0o700
    home.chmod(0o755)
    load_settings()
    assert _mode(home) == 0o700


def test_the_database_and_its_wal_and_shm_files_are_owner_only(tmp_path: Path, loose_umask: None) -> None:
    db = tmp_path / "state" / "papertrader.db"
    engine = make_engine(f"sqlite:///{db}")
    init_db(engine)
    with engine.connect() as conn:  # hold a connection so the WAL and SHM files exist
        conn.execute(text("SELECT 1"))
        wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
        assert wal.exists() and shm.exists()
        assert {_mode(db), _mode(wal), _mode(shm)} == {0o600}
    assert _mode(db.parent) == 0o700
    engine.dispose()


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path, loose_umask: None) -> None:
    db = tmp_path / "old.db"
    db.write_bytes(b"")
    db.chmod(0o644)
    make_engine(f"sqlite:///{db}").dispose()
    assert _mode(db) == 0o600


def test_the_lake_is_created_owner_only(tmp_path: Path, loose_umask: None) -> None:
    bars = load_shared_daily("SPY").iloc[:5].reset_index(drop=True)
    lake = Lake(tmp_path / "lake")
    lake.write_bars(bars, "1d", "csv")
    assert _mode(tmp_path / "lake") == 0o700


def test_private_helpers_create_missing_paths_and_leave_existing_content(tmp_path: Path, loose_umask: None) -> None:
    folder = private_dir(tmp_path / "x" / "y")
    assert _mode(folder) == 0o700 and _mode(folder.parent) == 0o700
    f = folder / "f"
    f.write_text("keep")
    f.chmod(0o664)
    private_file(f)
    assert f.read_text() == "keep" and _mode(f) == 0o600
