"""What every `papertrader` command shares: project errors as one line and exit code 2, ISO dates, symbol lists,
the run repository and the percent format (progress bars and Ctrl-C: cli/progress.py).

One copy, so that every command fails the same way and reads dates the same way (a naive date is New York).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from papertrader.core.errors import PapertraderError
from papertrader.domain.sessions import NEW_YORK

if TYPE_CHECKING:  # SQLAlchemy loads when a command opens the ledger, not with `--help`
    from papertrader.config.settings import Settings
    from papertrader.engine.parallel import Workers
    from papertrader.persistence.repository import RunRepository

console = Console()
EXIT_ERROR = 2  # a project error: the message says what to fix (input, config) or to retry


@contextmanager
def errors(out: Console | None = None) -> Iterator[None]:
    """Turn the project's errors into a clear message and exit code 2, so the operator reads what to do, not a trace."""
    try:
        yield
    except PapertraderError as exc:
        (out or console).print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_ERROR) from exc


def iso_date(value: str, what: str = "") -> datetime:
    """An ISO date or timestamp as an aware datetime (New York when naive), or a usage error naming the option."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        prefix = f"{what} " if what else ""
        raise typer.BadParameter(f"{prefix}{value!r} is not an ISO date like 2010-01-31") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=NEW_YORK)


def optional_date(value: str | None, what: str = "") -> datetime | None:
    """`iso_date` for an option that may be left out (None stays None: the whole history)."""
    return None if value is None else iso_date(value, what)


def symbol_list(value: str | None) -> tuple[str, ...]:
    """Comma-separated symbols, upper-cased, blanks dropped (empty: every symbol the command defaults to)."""
    return tuple(s.strip().upper() for s in value.split(",") if s.strip()) if value else ()


def wanted_symbols(symbols: str | None, universe: str | None, settings: Settings) -> list[str]:
    """`--symbols` plus the members of `--universe`, in order and once each; a usage error when both are empty."""
    from papertrader.data.universe import resolve

    picked = list(symbol_list(symbols))
    if universe:
        picked += resolve(universe, settings.home)
    if not picked:
        raise typer.BadParameter("name the symbols: --symbols AAPL,MSFT or --universe top200")
    return list(dict.fromkeys(picked))


def open_repository(settings: Settings) -> RunRepository:
    """The run ledger at `settings.db_url`, migrated to this release (a newer ledger raises a project error)."""
    from papertrader.persistence.db import init_db, make_engine
    from papertrader.persistence.repository import RunRepository

    db = make_engine(settings.db_url)
    init_db(db)
    return RunRepository(db)


def pct(value: float | None, signed: bool = True) -> str:
    """A fraction as a percentage with two decimals (signed by default), '-' when there is no value."""
    if value is None:
        return "-"
    return f"{value:+.2%}" if signed else f"{value:.2%}"


# `--workers N` / `--ray-address`: trial windows, compare rows and hyper-parameter trials as Ray tasks, one
# spelling for every command
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="run on a local Ray of N CPUs (the scale extra), N runs at once; 1 or absent: one after another here",
    ),
]
RayAddressOpt = Annotated[
    str | None, typer.Option("--ray-address", help="run on this Ray cluster (e.g. ray://head:10001 or auto)")
]


@contextmanager
def workers_of(count: int | None, address: str | None) -> Iterator[Workers]:
    """The Workers the options ask for, disconnected from Ray when the command ends."""
    from papertrader.engine.parallel import Workers

    workers = Workers(count, address)
    try:
        yield workers
    finally:
        workers.close()
