"""A user's strategy runs through the whole CLI on real bundled bars: the documented example, a fresh
`new-strategy` template, and user code that fails (a clear one-line error, exit code 2, no traceback)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papertrader.cli import app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "strategies"
WINDOW = ("--symbols", "AAPL,MSFT,IBM", "--start", "2006-01-01", "--end", "2009-01-01", "--interval", "1d")


def _trend_baseline() -> dict[str, float]:
    """The default strategy's (trend) backtest of the same window, as pinned beside this test."""
    data: dict[str, float] = json.loads((Path(__file__).parent / "pinned" / "backtest.json").read_text())
    return data


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pluginhome")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(path))
        result = CliRunner().invoke(app, ["data", "import", "--source", "bundled"])
        assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def in_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PAPERTRADER_HOME", str(home))
    before = set(sys.modules)
    yield home
    for name in set(sys.modules) - before:  # the user modules a test imported
        if name in ("momentum", "rsi_member", "sma_cross", "crashes"):
            sys.modules.pop(name)


def test_the_documented_example_backtests_on_bundled_data(
    in_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(EXAMPLES)
    out = tmp_path / "momentum.json"
    result = CliRunner().invoke(app, ["backtest", "--strategy", "momentum:Momentum", *WINDOW, "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["cycles"] == 755 and data["trades"] > 0 and data["fees_paid"] > 0
    assert data["final_equity"] != _trend_baseline()["final_equity"]  # the plug-in traded, not the default


def test_the_example_member_votes_on_the_board_beside_the_trend_member(
    in_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(EXAMPLES)
    monkeypatch.setenv("PAPERTRADER_STRATEGY__NAME", "ensemble")
    monkeypatch.setenv("PAPERTRADER_BOARD__MEMBERS", '["trend", "rsi_member:RsiMember"]')
    out = tmp_path / "board.json"
    result = CliRunner().invoke(app, ["backtest", *WINDOW, "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["trades"] > 0 and data["final_equity"] != _trend_baseline()["final_equity"]


def test_a_new_strategy_template_runs_as_written(
    in_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["new-strategy", "sma_cross"]).exit_code == 0
    out = tmp_path / "template.json"
    result = runner.invoke(app, ["backtest", "--strategy", "sma_cross:SmaCross", *WINDOW, "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["cycles"] == 755 and data["trades"] > 0
    assert data["final_equity"] != _trend_baseline()["final_equity"]


def test_user_code_that_fails_to_construct_is_one_line_with_its_file_and_line_and_exit_code_2(
    in_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "crashes.py").write_text("class Crash:\n    def __init__(self, symbols):\n        {}['missing']\n")
    result = CliRunner().invoke(app, ["backtest", "--strategy", "crashes:Crash", *WINDOW])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "KeyError" in text and "crashes.py:3" in text and "Traceback" not in text
    unknown = CliRunner().invoke(app, ["backtest", "--strategy", "no_such_thing", *WINDOW])
    assert unknown.exit_code == 2 and "MODULE:CLASS" in unknown.output


@pytest.mark.slow
def test_compare_adds_the_plugin_strategy_as_a_row_and_polls_a_plugin_member(
    in_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(EXAMPLES)
    out = tmp_path / "compare.json"
    args = ["compare", "--members", "trend,rsi_member:RsiMember", "--strategy", "momentum:Momentum", *WINDOW[:-2]]
    result = CliRunner().invoke(app, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(out.read_text())["rows"]}
    assert {"ensemble", "rsi_member:RsiMember", "momentum:Momentum", "trend_baseline", "buy_and_hold"} <= set(rows)
    backtest = tmp_path / "backtest.json"
    alone = CliRunner().invoke(app, ["backtest", "--strategy", "momentum:Momentum", *WINDOW, "--json", str(backtest)])
    assert alone.exit_code == 0, alone.output
    assert rows["momentum:Momentum"]["total_return"] == round(json.loads(backtest.read_text())["total_return"], 4)
