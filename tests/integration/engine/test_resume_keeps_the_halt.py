"""A run stopped after its kill switch fired resumes still halted, with the same limits, as if never stopped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.config.settings import RiskSettings, Settings
from papertrader.engine.runner import RunRequest, run
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository

START, END = datetime(2000, 3, 1, tzinfo=UTC), datetime(2001, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("halthome")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(path))
        assert CliRunner().invoke(app, ["data", "import", "--source", "bundled"]).exit_code == 0
    return path


def _request(run_id: str, resume: bool = False) -> RunRequest:
    return RunRequest(("AAPL", "MSFT"), "1d", START, END, mode="replay", run_id=run_id, resume=resume)


def test_a_resumed_run_stays_halted_after_its_kill_switch_fired(home: Path) -> None:
    # without the drawdown budget and its intrabar guard (which keep these bars above the floor)
    settings = Settings(home=home, risk=RiskSettings(drawdown_budget=False))
    reference = run(settings, _request("whole"))
    assert reference.extra["halted"], "the 8% kill switch fires on AAPL+MSFT in 2000"

    cycles = 0

    def stop_after_halt() -> bool:
        nonlocal cycles
        cycles += 1
        return cycles > len(reference.ts) - 40  # well after the kill switch fired in spring 2000

    run(settings, _request("split"), should_stop=stop_after_halt)
    resumed = run(settings, _request("split", resume=True))

    repo = RunRepository(make_engine(settings.db_url))
    assert resumed.extra["halted"] == reference.extra["halted"]
    assert resumed.extra["kill_switch"] == reference.extra["kill_switch"]
    assert len(repo.load_fills("split")) == len(repo.load_fills("whole")), "no new trades after the resume"
    assert resumed.final_equity == reference.final_equity
