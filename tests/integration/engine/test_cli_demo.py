"""`papertrader demo` end to end on the bundled real data: models trained a calibration window before the
cutoff (`--small` sizes here), the board replayed after it, the comparison and the tear sheet written, the votes
readable through the API.

Slow: it imports the bundled data and trains the LSTM, GRU and PPO once for the module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from papertrader.api import create_app
from papertrader.cli import app
from papertrader.config.settings import Settings
from papertrader.models.gate import gate_of
from papertrader.models.registry import Registry
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository, RunRow

runner = CliRunner()
TOKEN = "d" * 43
CUTOFF = "2012-06-01"  # a short held-out span keeps the test quick; the default demo holds out 2009-2013


@dataclass
class Demo:
    home: Path
    output: str
    run: RunRow


def _invoke(home: Path, *args: str, code: int = 0) -> str:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        mp.setenv("COLUMNS", "200")
        result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """One demo on a fresh home (imports, trains, replays, compares)."""
    home = tmp_path_factory.mktemp("demo-home")
    output = _invoke(home, "demo", "--no-api", "--small", "--until", CUTOFF)
    repo = RunRepository(make_engine(f"sqlite:///{home / 'papertrader.db'}"))
    (run,) = repo.list_runs()
    return Demo(home, output, run)


@pytest.mark.slow
def test_models_see_only_bars_a_calibration_window_before_the_cutoff_and_the_replay_starts_after_them(
    demo: Demo,
) -> None:
    cutoff = pd.Timestamp(CUTOFF, tz="America/New_York")
    for family in ("lstm", "gru", "rl", "lgbm"):
        manifest = json.loads((demo.home / "models" / family / "v0001" / "manifest.json").read_text())
        sessions_left = pd.bdate_range(pd.Timestamp(manifest["training_window"]["data_end"]).date(), cutoff.date())
        assert len(sessions_left) > Settings().board.calibration_bars, "a whole calibration window no model saw"
    assert "the board calibrates on" in demo.output
    assert demo.run.start is not None and pd.Timestamp(demo.run.start) >= cutoff
    assert demo.run.config["strategy"]["name"] == "ensemble" and demo.run.status.value == "finished"


@pytest.mark.slow
def test_the_demo_prints_the_summary_the_comparison_and_writes_both_reports(demo: Demo) -> None:
    out = demo.output
    assert "buy & hold" in out and "out-of-sample" in out
    for name in ("ensemble", "lstm", "gru", "ppo", "lgbm", "trend", "buy_and_hold"):
        assert name in out
    assert "trend: votes" in out
    for member in ("lstm", "gru", "ppo", "lgbm"):
        assert f"{member}: votes, " in out or f"{member}: left out, " in out, "the demo says who votes and why"
    reports = demo.home / "reports"
    assert (reports / f"{demo.run.id}.html").stat().st_size > 10_000
    assert "data:image/png;base64" in (reports / f"{demo.run.id}-compare.html").read_text()


@pytest.mark.slow
def test_the_boards_votes_are_served_by_the_decisions_route(demo: Demo) -> None:
    settings = Settings(home=demo.home)
    repo = RunRepository(make_engine(settings.db_url))
    with TestClient(create_app(settings, repo, token=TOKEN), base_url="http://127.0.0.1") as client:
        response = client.get(
            f"/api/v1/runs/{demo.run.id}/decisions?limit=50", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        signals = client.get(f"/api/v1/signals?run={demo.run.id}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] > 0 and body["decisions"]
    assert all(d["source"] == "ensemble" for d in body["decisions"])
    members = {v["member"] for d in body["decisions"] for v in d["votes"]}
    assert members == {"lstm", "gru", "ppo", "lgbm", "trend"}
    registry = Registry(demo.home)
    for member, family in (("lstm", "lstm"), ("gru", "gru"), ("ppo", "rl"), ("lgbm", "lgbm")):
        gate = gate_of(registry.manifest(family).metrics)
        assert gate is not None, "the demo's models record the quality gate"
        votes = [v for d in body["decisions"] for v in d["votes"] if v["member"] == member]
        left_out = [v["reason"].startswith(f"{member}: left out, {gate.reason}") for v in votes]
        assert left_out == [not gate.passed] * len(votes), "the route says in words who was left out and why"
        assert gate.passed or all(v["weight"] == 0 for v in votes)
        latest = [v for row in signals.json()["symbols"] if row["ensemble"] for v in row["ensemble"]["votes"]]
        said = {v["reason"].startswith(f"{member}: left out, ") for v in latest if v["member"] == member}
        assert said == {not gate.passed}, "GET /signals says it in the same words"


@pytest.mark.slow
def test_a_second_demo_reuses_the_models_trained_for_the_same_cutoff(demo: Demo) -> None:
    out = _invoke(demo.home, "demo", "--no-api", "--small", "--until", CUTOFF)
    assert "reusing the registered lstm, gru, ppo and lgbm models" in out
    assert not (demo.home / "models" / "lstm" / "v0002").exists()


def test_an_unknown_demo_strategy_is_refused_before_any_work(tmp_path: Path) -> None:
    out = _invoke(tmp_path, "demo", "--strategy", "nope", "--no-api", code=2)
    assert "ensemble or trend" in out
    assert not (tmp_path / "lake").exists()


def _import_junk(home: Path) -> None:
    """Three valid 2024 rows of a symbol the demo does not know, imported as a user would."""
    csv = home / "junk.csv"
    csv.write_text(
        "date,open,high,low,close,volume\n"
        "2024-01-08,10,11,9,10.5,1000\n2024-01-09,10.5,11,10,10.8,1200\n2024-01-10,10.8,11.2,10.1,11,900\n"
    )
    _invoke(home, "data", "import", "--source", "csv", "--path", str(csv), "--symbol", "JUNK")


def test_an_imported_csv_never_changes_the_trend_demos_universe_or_window(tmp_path: Path) -> None:
    _import_junk(tmp_path)  # first, on a fresh home: the demo still imports and trades its own bundled data
    _invoke(tmp_path, "demo", "--strategy", "trend", "--no-api")
    (run,) = RunRepository(make_engine(f"sqlite:///{tmp_path / 'papertrader.db'}")).list_runs()
    assert sorted(run.symbols) == ["AAPL", "FB", "GOOG", "IBM", "MSFT"]
    assert run.end is not None and pd.Timestamp(run.end) <= pd.Timestamp("2013-03-02", tz="America/New_York")


@pytest.mark.slow
def test_an_imported_csv_never_changes_the_board_demo(demo: Demo) -> None:
    _import_junk(demo.home)
    out = _invoke(demo.home, "demo", "--no-api", "--small", "--until", CUTOFF)
    assert "reusing the registered lstm, gru, ppo and lgbm models" in out
    latest = RunRepository(make_engine(f"sqlite:///{demo.home / 'papertrader.db'}")).list_runs()[0]
    assert sorted(latest.symbols) == sorted(demo.run.symbols) == ["AAPL", "FB", "GOOG", "IBM", "MSFT"]
    assert latest.summary is not None and demo.run.summary is not None
    assert latest.summary["benchmark"] == demo.run.summary["benchmark"], "buy-and-hold of the same five, same window"
