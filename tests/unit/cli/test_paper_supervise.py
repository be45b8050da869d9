"""`paper --live --supervise`: the child's command line is a `paper --live` the CLI accepts, resumed on restart."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.cli.run import live_child_argv


def _paper_options() -> set[str]:
    command = typer.main.get_command(app).get_command(None, "paper")  # type: ignore[attr-defined]
    return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}


def test_the_child_is_paper_live_with_the_operators_options_and_resume_only_on_a_restart() -> None:
    first = live_child_argv(
        ("AAPL", "MSFT"), "5m", "live-1", resume=False, serve_api=False, days=None, json_file=None, strategy=None
    )
    assert first[:5] == [sys.executable, "-m", "papertrader", "paper", "--live"]
    assert first[5:] == ["--symbols", "AAPL,MSFT", "--interval", "5m", "--run-id", "live-1", "--no-api"]
    again = live_child_argv(
        ("AAPL",), "1h", "live-1", resume=True, serve_api=True, days=3, json_file=Path("out.json"), strategy="trend"
    )
    assert again[-1] == "--resume" and again.count("--resume") == 1
    assert {"--api", "--days", "--json", "--strategy"} <= set(again)
    options = _paper_options()
    assert {a for a in first + again if a.startswith("--")} <= options, "every option is one `paper` accepts"


def test_supervise_without_live_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["paper", "--replay", "--supervise"])
    assert result.exit_code == 2
    assert "--supervise" in result.output and "--live" in result.output
