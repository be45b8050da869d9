"""`papertrader compare` runs every strategy through `engine.runner.run`: each row equals the `backtest` of the
same settings and window, to the cent and the fill (real bundled bars, tiny registered models)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository

SYMBOLS = "AAPL,IBM,MSFT"
START, END = "2011-06-01", "2012-06-01"
BOARD_ROWS = ("ensemble", "lstm", "gru", "ppo", "trend")
ROW_KEYS = {"name", "total_return", "sharpe", "sharpe_low", "sharpe_high", "max_drawdown", "exposure", "trades", "fees"}
GATE_KEYS = {"passed", "prediction_std", "log_loss", "base_log_loss", "accuracy", "majority_accuracy", "p_value"}
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
def test_the_per_symbol_row_is_the_board_backtest_without_construction(
    compared: dict[str, Any], board_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"PAPERTRADER_STRATEGY__NAME": "ensemble", "PAPERTRADER_RISK__CONSTRUCTION": "none"}
    backtest = _backtest(monkeypatch, board_home, tmp_path, "per-symbol", **env)
    row = compared["metrics"]["ensemble_per_symbol"]
    assert {k: row[k] for k in SAME} == {k: backtest[k] for k in SAME}
    if importlib.util.find_spec("pypfopt") is not None:  # without it `auto` sizes per symbol: the rows agree
        assert compared["equity"]["ensemble_per_symbol"] != compared["equity"]["ensemble"], "construction acts"


@pytest.mark.slow
def test_buy_and_hold_is_the_backtests_benchmark_and_every_row_is_listed(compared: dict[str, Any]) -> None:
    names = [row["name"] for row in compared["rows"]]
    # "ensemble_per_symbol": the board without portfolio construction, right after the board (issue 16)
    rows = [BOARD_ROWS[0], "ensemble_per_symbol", *BOARD_ROWS[1:]]
    assert names == [*rows, "trend_baseline", "buy_and_hold", "buy_and_hold_vol_matched"]
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
    assert set(data["runs"]) == {"ensemble", "ensemble_per_symbol", "lstm", "trend_baseline"}
    for run_id in data["runs"].values():
        _invoke(monkeypatch, board_home, db, "check", run_id)
    repo = RunRepository(make_engine(f"sqlite:///{db}"))
    stored = repo.get_run(data["runs"]["ensemble"])
    assert stored is not None and stored.summary is not None
    assert stored.summary["total_return"] == data["metrics"]["ensemble"]["total_return"]


@pytest.mark.slow
def test_every_row_has_return_sharpe_interval_drawdown_exposure_trades_fees_and_a_note(
    compared: dict[str, Any],
) -> None:
    rows = {row["name"]: row for row in compared["rows"]}
    for name, row in rows.items():
        assert ROW_KEYS | {"note"} <= set(row), name
        assert row["note"] is None or "kill switch" in row["note"]
        if row["sharpe_low"] is not None:
            assert row["sharpe_low"] <= row["sharpe"] <= row["sharpe_high"]
    for member in ("lstm", "gru", "ppo"):  # each model member carries its gate record (null before the gate)
        assert "gate" in rows[member]
        gate = rows[member]["gate"]
        assert gate is None or GATE_KEYS | {"rank_ic", "n", "reason"} <= set(gate)
    assert all("gate" not in rows[n] for n in ("ensemble", "trend", "trend_baseline", "buy_and_hold"))


@pytest.mark.slow
def test_vol_matched_buy_and_hold_carries_the_boards_realised_volatility(compared: dict[str, Any]) -> None:
    rows = {row["name"]: row for row in compared["rows"]}
    board, bh = compared["metrics"]["ensemble"], compared["metrics"]["buy_and_hold"]
    matched = compared["metrics"]["buy_and_hold_vol_matched"]
    fraction = compared["vol_matching"]["fraction"]
    assert 0 < fraction <= 1 and "ex-post" in compared["vol_matching"]["method"]
    if not compared["vol_matching"]["capped"]:
        assert matched["volatility"] == pytest.approx(board["volatility"], rel=1e-6)
    assert rows["buy_and_hold_vol_matched"]["sharpe"] == pytest.approx(rows["buy_and_hold"]["sharpe"], abs=2e-3)
    assert matched["exposure"] == pytest.approx(fraction * bh["exposure"], rel=1e-3)


@pytest.mark.slow
def test_the_boards_sharpe_difference_to_each_baseline_comes_with_a_paired_test(compared: dict[str, Any]) -> None:
    tests = {t["b"]: t for t in compared["paired_tests"]}
    assert set(tests) == {"trend_baseline", "buy_and_hold_vol_matched"}
    rows = {row["name"]: row for row in compared["rows"]}
    for other, test in tests.items():
        assert test["a"] == "ensemble" and 0 < test["p_value"] <= 1 and test["low"] <= test["high"]
        assert test["difference"] == pytest.approx(rows["ensemble"]["sharpe"] - rows[other]["sharpe"], abs=2e-3)
        assert rows["ensemble"]["paired_tests"][other]["p_value"] == test["p_value"]


@pytest.mark.slow
def test_compare_and_a_model_backtest_refuse_a_start_inside_the_models_test_rows(
    compared: dict[str, Any], board_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lstm = compared["out_of_sample"]["lstm"]
    assert lstm["data_end"] < compared["start"] and lstm["earliest_start"] <= compared["start"]
    window = compared["models"]["lstm"]["training_window"]
    inside = (pd.Timestamp(window["end"]) + pd.Timedelta(days=10)).strftime("%Y-%m-%d")  # after training, in test
    assert inside < window["data_end"]
    for command in (("compare",), ("backtest",)):
        with monkeypatch.context() as mp:
            mp.setenv("PAPERTRADER_HOME", str(board_home))
            mp.setenv("PAPERTRADER_DATABASE_URL", f"sqlite:///{tmp_path / 'refused.db'}")
            mp.setenv("PAPERTRADER_STRATEGY__NAME", "lstm")
            args = [*command, "--start", inside, "--end", END, "--symbols", SYMBOLS]
            if command == ("compare",):
                args += ["--members", "lstm"]
            done = CliRunner().invoke(app, args)
        assert done.exit_code == 2, done.output
        text = " ".join(done.output.split())
        assert "not out-of-sample" in text and "lstm" in text and "data_end" in text, text
        assert "earliest allowed start" in text
