"""`papertrader config`: the configuration reference, generated from the settings models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from papertrader.cli.common import console

app = typer.Typer(
    name="config", help="Inspect the configuration: every setting, its variable and default.", no_args_is_help=True
)


@app.command("reference")
def reference(
    write: Annotated[
        Path | None, typer.Option("--write", help="write the Markdown page here (e.g. docs/configuration.md)")
    ] = None,
) -> None:
    """Print (or write) every setting with its env variable, type, default, constraint and description."""
    from papertrader.config.reference import render_reference, write_reference

    if write is None:
        typer.echo(render_reference(), nl=False)
        return
    console.print(f"wrote {write_reference(write)}")
