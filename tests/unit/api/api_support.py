"""Builders for API tests: a stored run made by the real engine and recorder, and an app with its token."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from fastapi import FastAPI

import support
from papertrader.api import ApiSettings, create_app
from papertrader.config.settings import Settings
from papertrader.engine.control import RunControl
from papertrader.engine.cycle import Engine
from papertrader.engine.live import LiveState
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import RunRepository
from support import load_shared_daily

TOKEN = "t" * 43
#: Starlette's TestClient sends `Host: testserver`, which the app refuses unless listed (DNS-rebinding guard).
TEST_HOST = "testserver"
LOCAL = "http://127.0.0.1"


@dataclass
class StoredRun:
    """A run recorded cycle by cycle, as a replay stores it, plus what is needed to serve it."""

    settings: Settings
    repo: RunRepository
    engine: Engine
    run_id: str


def open_repo(settings: Settings) -> RunRepository:
    """A repository on the settings' database, schema created."""
    db = make_engine(settings.db_url)
    init_db(db)
    return RunRepository(db)


def record_run(
    home: Path, bars: pd.DataFrame, cycles: int, run_id: str = "run-a", finish: bool = True, every: int = 1
) -> StoredRun:
    """Run the real engine for `cycles` cycles, committing every `every`, and optionally mark the run finished."""
    settings = Settings(home=home)
    repo, engine = support.record_run(settings, bars, cycles, run_id, finish, every)
    return StoredRun(settings, repo, engine, run_id)


def etf_bars(until: str = "2004-01-01") -> pd.DataFrame:
    """Real SPY, QQQ, IWM and EEM daily bars before `until` (skips when shared data is absent)."""
    bars = pd.concat([load_shared_daily(s) for s in ("SPY", "QQQ", "IWM", "EEM")], ignore_index=True)
    return bars[bars["ts"] < pd.Timestamp(until, tz="UTC")].reset_index(drop=True)


@functools.cache
def shared_run() -> StoredRun:
    """One finished 700-cycle run per test session, in a temporary home (read it, do not change it)."""
    home = Path(tempfile.mkdtemp(prefix="papertrader-api-"))
    atexit.register(shutil.rmtree, home, True)
    return record_run(home, etf_bars(), 700, every=100)


def make_app(
    run: StoredRun,
    live: LiveState | None = None,
    control: RunControl | None = None,
    api_settings: ApiSettings | None = None,
) -> FastAPI:
    """The app over a stored run with the fixed test token, answering the TestClient's host name."""
    api_settings = api_settings or ApiSettings(allowed_hosts=(TEST_HOST,))
    return create_app(run.settings, run.repo, live, control, api_settings=api_settings, token=TOKEN)


def auth() -> dict[str, str]:
    """The Authorization header for the test token."""
    return {"Authorization": f"Bearer {TOKEN}"}
