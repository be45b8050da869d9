"""`papertrader new-strategy` writes an importable, documented template; `--strategy` only sets strategy.name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.cli.plugins import class_name, member_name, render_template
from papertrader.config.settings import Settings
from papertrader.engine.plugins import with_strategy


def test_new_strategy_writes_a_documented_template_and_says_how_to_run_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["new-strategy", "mean_reversion", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    path = tmp_path / "mean_reversion.py"
    tree = ast.parse(path.read_text())
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert [c.name for c in classes] == ["MeanReversion"] and ast.get_docstring(classes[0])
    methods = {f.name for f in classes[0].body if isinstance(f, ast.FunctionDef)}
    assert {"__init__", "features", "required_features", "decide"} <= methods
    assert "papertrader backtest --strategy mean_reversion:MeanReversion" in " ".join(result.output.split())


def test_new_strategy_refuses_to_overwrite_or_to_shadow_a_module(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "mine.py").write_text("# the user's own work\n")
    taken = runner.invoke(app, ["new-strategy", "mine", "--dir", str(tmp_path)])
    assert taken.exit_code == 2 and "exists" in taken.output
    assert (tmp_path / "mine.py").read_text() == "# the user's own work\n"
    assert runner.invoke(app, ["new-strategy", "mine", "--dir", str(tmp_path), "--force"]).exit_code == 0
    for bad in ("random", "2fast", "class", "my-strategy"):
        result = runner.invoke(app, ["new-strategy", bad, "--dir", str(tmp_path)])
        assert result.exit_code == 2, (bad, result.output)
        assert not (tmp_path / f"{bad}.py").exists()


def test_template_names_and_strategy_option_helpers() -> None:
    assert class_name("mean_reversion") == "MeanReversion" and class_name("sma") == "Sma"
    assert "class Sma:" in render_template("sma")
    assert member_name(" LSTM ") == "lstm" and member_name("My_Mod:RsiMember") == "My_Mod:RsiMember"
    settings = Settings()
    assert with_strategy(settings, None) is settings
    assert with_strategy(settings, " mod:Cls ").strategy.name == "mod:Cls"


@pytest.mark.parametrize("command", ["backtest", "paper", "trial", "compare"])
def test_every_run_command_takes_a_strategy_option(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--strategy" in result.output
