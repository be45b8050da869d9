"""`papertrader compare` runs every strategy through `engine.runner.run`: each row equals the `backtest` of the
same settings and window, to the cent and the fill (real bundled bars, tiny registered models)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository

SYMBOLS = "AAPL,IBM,MSFT"
START, END = "2011-06-01", "2012-06-01"
SAME = ("total_return", "sharpe", "max_drawdown", "trades", "round_trips", "fees_paid", "exposure", "turnover")


def _invoke(monkeypatch: pytest.MonkeyPatch, home: Path, db: Path, *args: str, **env: str) -> None:
    with monkeypatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        mp.setenv("PAPERTRADER_DATABASE_URL", f"sqlite:///{db}")
        mp.setenv("PAPERTRADER_BOARD__CALIBRATION_BARS", "120")
        for key, value in env.items():
            mp.setenv(key, value)
        done = CliRunner().invoke(app, list(args))
    assert done.exit_code == 0, done.output


def _backtest(monkeypatch: pytest.MonkeyPatch, home: Path, tmp_path: Path, name: str, **env: str) -> dict[str, Any]:
    out = tmp_path / f"backtest-{name}.json"
    window = ("--start", START, "--end", END, "--symbols", SYMBOLS)
    _invoke(monkeypatch, home, tmp_path / "runs.db", "backtest", *window, "--json", str(out), **env)
    data: dict[str, Any] = json.loads(out.read_text())
    return data


@pytest.fixture(scope="module")
def compared(board_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One `compare --json` over the window (not persisted)."""
    tmp = tmp_path_factory.mktemp("compare")
    out = tmp / "compare.json"
    window = ("--start", START, "--end", END, "--symbols", SYMBOLS)
    with pytest.MonkeyPatch.context() as mp:
        _invoke(mp, board_home, tmp / "unused.db", "compare", *window, "--json", str(out))
    data: dict[str, Any] = json.loads(out.read_text())
    return data


@pytest.mark.slow
def test_the_ensemble_row_equals_the_ensemble_backtest_exactly(
    compared: dict[str, Any], board_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backtest = _backtest(monkeypatch, board_home, tmp_path, "ensemble", PAPERTRADER_STRATEGY__NAME="ensemble")
    row = compared["metrics"]["ensemble"]
    assert backtest["trades"] > 0
    assert {k: row[k] for k in SAME} == {k: backtest[k] for k in SAME}
    assert compared["equity"]["ensemble"][-1] == backtest["final_equity"]
    assert compared["ts"][0] == backtest["start"] and compared["ts"][-1] == backtest["end"]


@pytest.mark.slow
def test_a_member_alone_and_the_trend_baseline_equal_their_own_backtests(
    compared: dict[str, Any], board_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gru = _backtest(monkeypatch, board_home, tmp_path, "gru", PAPERTRADER_STRATEGY__NAME="gru")
    trend = _backtest(monkeypatch, board_home, tmp_path, "trend", PAPERTRADER_STRATEGY__NAME="trend")
    assert {k: compared["metrics"]["gru"][k] for k in SAME} == {k: gru[k] for k in SAME}
    assert {k: compared["metrics"]["trend_baseline"][k] for k in SAME} == {k: trend[k] for k in SAME}
    assert trend["trades"] > 0


@pytest.mark.slow
def test_buy_and_hold_is_the_backtests_benchmark_and_every_row_is_listed(compared: dict[str, Any]) -> None:
    names = [row["strategy"] for row in compared["table"]]
    assert names == ["ensemble", "lstm", "gru", "ppo", "trend", "trend_baseline", "buy_and_hold"]
    assert all(len(curve) == len(compared["ts"]) for curve in compared["equity"].values())
    assert compared["runs"] == {}  # not persisted unless asked


@pytest.mark.slow
def test_persisted_rows_are_stored_runs_that_check_and_report(
    board_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "persisted.json"
    window = ("--start", "2012-01-03", "--end", "2012-04-02", "--symbols", SYMBOLS, "--members", "lstm")
    db = tmp_path / "persisted.db"
    _invoke(monkeypatch, board_home, db, "compare", *window, "--persist", "--json", str(out))
    data = json.loads(out.read_text())
    assert set(data["runs"]) == {"ensemble", "lstm", "trend_baseline"}
    for run_id in data["runs"].values():
        _invoke(monkeypatch, board_home, db, "check", run_id)
    repo = RunRepository(make_engine(f"sqlite:///{db}"))
    stored = repo.get_run(data["runs"]["ensemble"])
    assert stored is not None and stored.summary is not None
    assert stored.summary["total_return"] == data["metrics"]["ensemble"]["total_return"]
