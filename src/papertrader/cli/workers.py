"""`--workers N` / `--ray-address ADDR`: the options that run a command's many runs as Ray tasks (trial windows,
compare rows, hyper-parameter trials), defined once so every command spells and documents them the same way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the engine loads when the command runs, so --help stays instant
    from papertrader.engine.parallel import Workers

WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="run on a local Ray of N CPUs (the [scale] extra), N runs at once; 1 or absent: one after another here",
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
