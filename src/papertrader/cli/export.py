"""`papertrader export`: a stored run's tables as CSV or Parquet files for spreadsheets and notebooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from papertrader.cli.common import EXIT_ERROR, console, errors

app = typer.Typer()


@app.command("export")
def export(
    run_id: Annotated[str, typer.Argument(help="run id (see `papertrader runs`)")],
    out_dir: Annotated[Path, typer.Argument(help="folder to write the files into (created if missing)")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv | parquet")] = "csv",
    exact: Annotated[bool, typer.Option(help="money as exact decimals instead of float64")] = False,
) -> None:
    """Write a run's equity, fills, orders, positions, decisions and votes (plus run.json) to DIR."""
    if fmt not in ("csv", "parquet"):
        raise typer.BadParameter(f"--format must be csv or parquet, got {fmt!r}")
    with errors(console):
        from papertrader.persistence.frames import export_run, load_run  # pandas + SQLAlchemy: only when it runs

        frames = load_run(run_id, exact=exact)
        try:
            written = export_run(frames, fmt, out_dir)
        except OSError as exc:
            console.print(f"[red]error:[/red] cannot write to {out_dir}: {exc.strerror or exc}")
            raise typer.Exit(EXIT_ERROR) from None
    console.print(f"wrote {len(written)} files to {out_dir}: " + ", ".join(p.name for p in written))
