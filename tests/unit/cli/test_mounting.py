"""Every command group is a module of papertrader.cli exposing `app`, and the root mounts them all (none lost)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import typer

import papertrader.cli as cli
from papertrader.cli import app

#: the command line users and scripts rely on (other commands may be added; none may disappear)
TOP_LEVEL = {
    "backtest",
    "paper",
    "runs",
    "report",
    "check",
    "demo",
    "trial",
    "decisions",
    "compare",
    "hyperopt",
    "export",
    "serve",
    "train",
    "models",
    "data",
    "universe",
    "config",
}
GROUPS = {
    "data": {"import", "status", "backfill", "poll", "collect"},
    "universe": {"list", "refresh"},
    "models": {"list", "show", "promote", "rollback"},
    "config": {"reference"},
}


def _commands(group: Any) -> dict[str, Any]:
    return dict(group.commands)  # a click-style group: subcommands by name


def test_every_command_module_exposes_one_typer_app() -> None:
    names = [m.name for m in pkgutil.iter_modules(cli.__path__) if m.name not in ("common", "progress", "__main__")]
    assert len(names) >= 12
    for name in names:
        module = importlib.import_module(f"papertrader.cli.{name}")
        assert isinstance(getattr(module, "app", None), typer.Typer), f"papertrader.cli.{name} has no typer app"


def test_the_root_mounts_every_command_and_group_of_the_documented_command_line() -> None:
    root = _commands(typer.main.get_command(app))
    assert set(root) >= TOP_LEVEL
    for group, commands in GROUPS.items():
        assert set(_commands(root[group])) >= commands, group
