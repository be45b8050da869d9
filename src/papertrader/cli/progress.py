"""How long commands show their progress and stop on Ctrl-C: once, so every command stops the same way."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from papertrader.cli.common import console


@contextmanager
def stop_on_signal(message: str) -> Iterator[Callable[[], bool]]:
    """SIGINT/SIGTERM ask the command to stop at its next safe point (`message` says which); a second aborts at once."""
    requested: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        if requested:  # a second signal means now
            raise KeyboardInterrupt
        requested.append(signum)
        console.print(f"[yellow]{message}[/yellow]")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: bool(requested)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def counted_progress(label: str, total: int) -> Iterator[tuple[Progress, TaskID]]:
    """A progress bar over `total` items with a free-text `info` field (the item just done), for long loops."""
    with Progress(
        TextColumn(f"[bold]{label}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        yield progress, progress.add_task(label, total=total, info="")
