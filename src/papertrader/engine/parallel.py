"""Many runs at once (trial windows, compare rows) as Ray tasks, each with its own private run store.

Why: SQLite has one writer, and a worker process cannot share the parent's database connection. So a task runs
its run exactly as the sequential path does (`engine.runner.run`, assembled by engine/kernel.py) but writes to a
private in-memory store, then hands back its result and every row it stored (`persistence.transfer.StoredRun`).
The parent copies those rows into the real store in the sequential order, so the store and the results are the
same whichever way the runs ran. The pool is models/scaleout.py's (the one walk-forward folds use).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from papertrader.config.settings import Settings
from papertrader.core.errors import ConfigError
from papertrader.models import scaleout
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import RunRepository

S = TypeVar("S")
P = TypeVar("P")
I = TypeVar("I")  # noqa: E741
R = TypeVar("R")
Iterate = Callable[[Callable[[S, P, I], R], S, P, Sequence[I]], Iterator[R]]


@dataclass(frozen=True)
class Workers:
    """Where many runs go: here one after another (the default), a local Ray of `count` CPUs, or a Ray cluster."""

    count: int | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        if self.count is not None and self.count < 1:
            raise ConfigError("--workers must be at least 1")

    @property
    def parallel(self) -> bool:
        """Whether runs go to Ray (`--workers 2` or more, or `--ray-address`); one worker runs here, unchanged."""
        return self.address is not None or (self.count is not None and self.count > 1)

    def describe(self) -> str:
        """A few words for progress bars: where the runs go."""
        if self.address is not None:
            return f"on Ray at {self.address}"
        return f"on a local Ray of {self.count} workers" if self.parallel else "in this process"

    def iterate(self, fn: Callable[[S, P, I], R], shared: S, params: P, items: Sequence[I]) -> Iterator[R]:
        """fn(shared, params, item) for every item as Ray tasks, results in item order as they arrive."""
        if not self.parallel:
            return scaleout.iter_local(fn, shared, params, items)
        return scaleout.iterator(self.address, None if self.address else self.count)(fn, shared, params, items)

    def close(self) -> None:
        """Disconnect from Ray when this process connected (the CLI calls it when the command ends)."""
        if self.parallel:
            scaleout.shutdown()


def private_repository() -> RunRepository:
    """A fresh in-memory run store for one task (dropped with it): nothing is shared between workers."""
    engine = make_engine("sqlite://")
    init_db(engine)
    return RunRepository(engine)


_worker_store: RunRepository | None = None


def worker_repository() -> RunRepository:
    """This worker process's own in-memory run store, created once and reused by its tasks (which take their rows
    out again: persistence.transfer.take_run), so a task pays neither the schema nor SQL compilation again."""
    global _worker_store
    if _worker_store is None:
        _worker_store = private_repository()
    return _worker_store


def store_of(settings: Settings) -> RunRepository:
    """The settings' own run store, where the parent copies what the tasks stored."""
    engine = make_engine(settings.db_url)
    init_db(engine)
    return RunRepository(engine)
