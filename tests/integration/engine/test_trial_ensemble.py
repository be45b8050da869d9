"""The trial with the ensemble on tiny models trained only on data before a cutoff (bundled real data).

Slow: it trains the LSTM, GRU and PPO (`papertrader train all --small --until 2007-01-01`) before trialling.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository

pytestmark = pytest.mark.slow
runner = CliRunner()
CUTOFF = "2007-01-01"
SYMBOLS = "AAPL,IBM,MSFT"


def _invoke(home: Path, *args: str, code: int = 0) -> str:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        mp.setenv("PAPERTRADER_STRATEGY__NAME", "ensemble")
        mp.setenv("COLUMNS", "160")
        result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bundled data imported and tiny models of every family trained on bars before the cutoff only."""
    path = tmp_path_factory.mktemp("home")
    _invoke(path, "data", "import", "--source", "bundled")
    _invoke(path, "train", "all", "--small", "--until", CUTOFF, "--symbols", SYMBOLS)
    return path


@pytest.fixture(scope="module")
def trial(home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three ensemble windows on the held-out span."""
    out = tmp_path_factory.mktemp("trial") / "trial.json"
    _invoke(home, "trial", "--days", "7", "--windows", "3", "--symbols", SYMBOLS, "--json", str(out))
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def test_models_trained_with_until_saw_no_bar_after_the_cutoff(home: Path) -> None:
    for family in ("lstm", "gru", "rl"):
        manifest = json.loads((home / "models" / family / "v0001" / "manifest.json").read_text())
        window = manifest["training_window"]
        assert window["end"] < window["data_end"] < CUTOFF


def test_ensemble_windows_start_after_every_models_data_and_run_clean(home: Path, trial: dict[str, Any]) -> None:
    assert trial["strategy"] == "ensemble"
    exclusions = trial["held_out"]["exclusions"]
    assert {e["label"].split()[0] for e in exclusions} == {"lstm", "gru", "rl"}
    start = datetime.fromisoformat(trial["held_out"]["start"])
    assert start > max(datetime.fromisoformat(e["end"]) for e in exclusions)
    assert trial["held_out"]["start"] >= CUTOFF
    repo = RunRepository(make_engine(f"sqlite:///{home / 'papertrader.db'}"))
    voted = 0
    for w in trial["windows"]:
        assert datetime.fromisoformat(w["start"]) >= start
        assert w["cycles"] == 7 and w["uptime"] == 1.0 and w["critical_failures"] == []
        assert "ok" in _invoke(home, "check", w["run_id"])
        voted += sum("votes" in e.payload for e in repo.load_events(w["run_id"], ["signal"]))
    assert voted > 0, "the board's votes are stored with its signals"


def test_an_after_date_inside_the_models_data_is_refused(home: Path) -> None:
    out = _invoke(home, "trial", "--windows", "3", "--symbols", SYMBOLS, "--after", "2005-01-01", code=2)
    assert "overlaps" in out and "training" in out
