"""The `papertrader` command line: the contract users and tests rely on.

One module per command group, each exposing `app` (a `typer.Typer`), all mounted here the same way:
`add_typer(module.app)`. A module whose `app` carries a name (`data`, `universe`, `config`) is a command group;
the others add top-level commands (`train` also brings the `models` group). `data collect` lives in its own
module and is mounted into the `data` group. common.py and progress.py hold what the commands share. The
modules parse options and print; the work is done by the packages below (engine, models, data, ...), imported
inside each command so `papertrader --help` stays instant.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from papertrader.cli import (
    board,
    collect,
    config,
    data,
    demo,
    export,
    hyperopt,
    models,
    plugins,
    run,
    serve,
    trial,
    universe,
)

app = typer.Typer(help="Local-first AI paper trading: honest, out-of-sample, net of costs.", no_args_is_help=True)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logging")] = False) -> None:
    """Configure logging once for every command."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


data.app.add_typer(collect.app)  # `data collect`: side data from Alpha Vantage
for group in (serve, models, trial, board, plugins, hyperopt, export, run, demo, data, universe, config):
    app.add_typer(group.app)

__all__ = ["app", "main"]
