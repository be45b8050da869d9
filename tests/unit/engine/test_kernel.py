"""The composition root: backtest and replay are assembled by one function, stored settings are rehydrated from a
run's own config with this machine's home and database, and a resumed assembly restores what the run committed.

Real SPY daily bars (shared data) in a temporary lake; the live mode's share of `assemble` is proven on real
hourly bars in tests/integration/engine/test_kernel_modes.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from papertrader.config.settings import Settings, StrategySettings
from papertrader.data.store import Lake
from papertrader.engine import kernel
from papertrader.engine.kernel import RunSpec, assemble, stored_config, stored_settings
from papertrader.engine.runner import RunRequest, load_panel, run
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import RunRepository

WINDOW = {"start": datetime(2005, 1, 3, tzinfo=UTC), "end": datetime(2006, 6, 1, tzinfo=UTC)}


def _home(tmp_path: Path, spy_daily: pd.DataFrame, **settings: Any) -> Settings:
    lake = Lake(tmp_path / "lake")
    lake.write_bars(spy_daily[spy_daily["ts"] < pd.Timestamp("2006-06-01", tz="UTC")], "1d", "shared-test")
    return Settings(home=tmp_path, strategy=StrategySettings(fast=5, slow=20), **settings)


def _repo(settings: Settings) -> RunRepository:
    db = make_engine(settings.db_url)
    init_db(db)
    return RunRepository(db)


def _spy_on_assemble(monkeypatch: pytest.MonkeyPatch) -> list[RunSpec]:
    calls: list[RunSpec] = []
    real: Callable[..., kernel.Assembly] = kernel.assemble

    def recording(settings: Settings, spec: RunSpec, *args: Any, **kwargs: Any) -> kernel.Assembly:
        calls.append(spec)
        return real(settings, spec, *args, **kwargs)

    monkeypatch.setattr(kernel, "assemble", recording)
    return calls


def test_backtest_and_replay_are_assembled_by_the_one_kernel_function(
    tmp_path: Path, spy_daily: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _home(tmp_path, spy_daily)
    calls = _spy_on_assemble(monkeypatch)
    backtest = run(settings, RunRequest(("SPY",), mode="backtest", **WINDOW), persist=False)
    replay = run(settings, RunRequest(("SPY",), mode="replay", run_id="replay-1", **WINDOW))
    assert [(c.mode, c.run_id) for c in calls] == [("backtest", backtest.run_id), ("replay", "replay-1")]
    assert calls[0].first == calls[1].first  # the same window starts trading on the same row
    assert replay.final_equity == backtest.final_equity  # one assembly, one loop: the modes differ only in pacing


def test_stored_settings_rehydrate_a_stored_runs_config_with_this_machines_home_and_database(
    tmp_path: Path, spy_daily: pd.DataFrame
) -> None:
    ran_with = _home(tmp_path / "there", spy_daily, initial_cash=54_321.0)
    run(ran_with, RunRequest(("SPY",), mode="replay", run_id="stored-1", **WINDOW))
    row = _repo(ran_with).get_run("stored-1")
    assert row is not None
    assert "home" not in row.config and "database_url" not in row.config  # a copied database still resumes
    here = Settings(home=tmp_path / "here", database_url=f"sqlite:///{tmp_path / 'elsewhere.sqlite'}")
    back = stored_settings(row.config, here)
    assert back.home == here.home and back.database_url == here.database_url
    assert back.strategy.fast == 5 and back.strategy.slow == 20 and back.initial_cash == 54_321.0
    assert stored_config(back) == row.config  # stored_config is its inverse
    with pytest.raises(ValidationError):  # the API falls back to the current settings on exactly this
        stored_settings({**row.config, "initial_cash": "not money"}, here)


def test_a_resumed_assembly_restores_the_committed_state(tmp_path: Path, spy_daily: pd.DataFrame) -> None:
    settings = _home(tmp_path, spy_daily)
    seen = {"cycles": 0}

    def stop_after_150() -> bool:
        return seen["cycles"] >= 150

    def count(_outcome: object) -> None:
        seen["cycles"] += 1

    run(
        settings,
        RunRequest(("SPY",), mode="replay", run_id="resume-1", **WINDOW),
        on_cycle=count,
        should_stop=stop_after_150,
    )
    repo = _repo(settings)
    row = repo.get_run("resume-1")
    assert row is not None and row.status.value == "interrupted"
    committed = repo.load_equity("resume-1", exact=True)
    lake = Lake(settings.lake_dir)
    panel, first = load_panel(lake, RunRequest(("SPY",), **WINDOW))

    resumed = assemble(settings, RunSpec("resume-1", "replay", first, resume=True), panel, lake=lake, repo=repo)
    assert resumed.restored and resumed.last_cycle == row.last_cycle == int(committed["cycle"].iloc[-1])
    assert resumed.next_cycle == row.last_cycle + 1
    assert resumed.engine.ledger.cash == committed["cash"].iloc[-1]  # the committed cash, to the cent
    assert resumed.engine.ledger.qty("SPY") == sum(p.qty for p in repo.load_positions("resume-1") if p.symbol == "SPY")
    assert resumed.engine.clock.now() == panel.open_times[row.last_cycle + 1]  # at the next cycle's open

    fresh = assemble(settings, RunSpec("fresh-1", "replay", first), panel, lake=lake, repo=repo)
    assert not fresh.restored and fresh.last_cycle == first - 1
    assert fresh.engine.ledger.cash == Decimal(repr(settings.initial_cash))
    assert fresh.recorder is not None and fresh.recorder.every == kernel.RECORD_EVERY["replay"]
