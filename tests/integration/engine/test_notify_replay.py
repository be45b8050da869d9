"""A replay with PAPERTRADER_NOTIFY_URLS set tells a local webhook about its fills and its kill-switch halt.

Real bundled bars (AAPL and MSFT in 2000, where the 8% kill switch fires); the webhook is an http.server on
127.0.0.1, port 0, reached through apprise's json:// target.
"""

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
from webhook_support import local_webhook

START, END = datetime(2000, 3, 1, tzinfo=UTC), datetime(2001, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("notifyhome")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(path))
        assert CliRunner().invoke(app, ["data", "import", "--source", "bundled"]).exit_code == 0
    return path


def test_a_replay_notifies_its_halt_and_rate_limited_fills(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with local_webhook() as hook:
        monkeypatch.setenv("PAPERTRADER_NOTIFY_URLS", hook.url())
        monkeypatch.setenv("PAPERTRADER_NOTIFY_RATE_LIMIT", "3")
        monkeypatch.setenv("PAPERTRADER_NOTIFY_RATE_WINDOW_S", "86400")  # one window for the whole replay
        # the kill switch alone (no drawdown budget, issue 16), so this replay halts in 2000 as the test needs
        settings = Settings(home=home, risk=RiskSettings(drawdown_budget=False))
        result = run(settings, RunRequest(("AAPL", "MSFT"), "1d", START, END, mode="replay", run_id="n"))
    assert result.extra["halted"]
    messages = hook.messages()
    halts = [m for m in messages if m.startswith("HALTED: kill switch")]
    fills = [m for m in messages if m.startswith(("BUY", "SELL"))]
    assert len(halts) == 1
    stored_fills = RunRepository(make_engine(Settings(home=home).db_url)).load_fills("n")
    assert len(fills) == 3 < len(stored_fills)  # the rest were held back by the rate limit
    assert {m.split(" ")[2] for m in fills} <= {"AAPL", "MSFT"}
