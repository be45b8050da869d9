"""A run switched to observe-only and stopped resumes still observing: no orders after the switch, signals go on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.config.settings import Settings
from papertrader.domain.events import TradingModeChanged
from papertrader.engine.control import RunControl
from papertrader.engine.runner import RunRequest, run
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository

START, END = datetime(2003, 1, 1, tzinfo=UTC), datetime(2004, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("observehome")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(path))
        assert CliRunner().invoke(app, ["data", "import", "--source", "bundled"]).exit_code == 0
    return path


def _request(run_id: str, resume: bool = False) -> RunRequest:
    return RunRequest(("AAPL", "MSFT", "IBM"), "1d", START, END, mode="replay", run_id=run_id, resume=resume)


def test_a_resumed_run_keeps_observe_only_and_sends_no_orders(home: Path) -> None:
    settings = Settings(home=home)
    reference = run(settings, _request("reference"))
    control = RunControl()
    control.request_mode(True)  # taken before the second cycle
    cycles = 0

    def stop_early() -> bool:
        nonlocal cycles
        cycles += 1
        return cycles > 120

    run(settings, _request("observed"), control=control, should_stop=stop_early)
    resumed = run(settings, _request("observed", resume=True))

    repo = RunRepository(make_engine(settings.db_url))
    switched = repo.load_events("observed", [TradingModeChanged.KIND])
    assert [e.payload["mode"] for e in switched] == ["observe"], "recorded once, and the resume did not undo it"
    after = [e for e in repo.load_events("observed", ["order.submitted"]) if e.ts > switched[0].ts]
    assert after == [], "observe-only sends no orders, before and after the resume"
    traded = repo.load_events("reference", ["order.submitted"])
    assert [e for e in traded if e.ts > switched[0].ts], "the same run in paper mode did trade in that window"
    assert len(resumed.ts) == len(reference.ts), "the resume ran to the end"
    resumed_from = reference.ts[125].to_pydatetime()
    signals = repo.load_events("observed", ["signal"])
    assert any(e.ts > resumed_from for e in signals), "decisions go on after the resume, only orders stop"
    assert any(e.ts > resumed_from for e in traded), "paper mode traded after that point: the resume would have too"
