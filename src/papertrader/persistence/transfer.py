"""Copy one run's stored rows from one run store to another, unchanged.

Why: parallel runs (trial windows, compare rows on Ray) each write to a private in-memory store instead of
sharing one SQLite writer; the parent copies every finished run into the real store, in the order the sequential
path would have written them, so the real store ends up holding the same rows either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Table, delete, insert, literal_column, select
from sqlalchemy.exc import IntegrityError

from papertrader.persistence.models import Base
from papertrader.persistence.repository import RunExistsError

#: the run row first, then the tables that point at it (fills point at orders), as foreign keys require
_PARENT = "runs"


@dataclass(frozen=True)
class StoredRun:
    """Every row one run wrote, table by table in insertion order (plain values: picklable, sent between processes)."""

    run_id: str
    tables: tuple[tuple[str, tuple[dict[str, Any], ...]], ...]

    def rows(self, table: str) -> tuple[dict[str, Any], ...]:
        """The rows of one table (empty when the run wrote none)."""
        return next((rows for name, rows in self.tables if name == table), ())


def _tables() -> list[Table]:
    """The run tables: the parent and those keyed by run_id (the key budget tables belong to no run)."""
    return [t for t in Base.metadata.sorted_tables if t.name == _PARENT or "run_id" in t.c]


def _owned_by(table: Table, run_id: str) -> Any:
    return table.c.id == run_id if table.name == _PARENT else table.c.run_id == run_id


def export_run(engine: Engine, run_id: str) -> StoredRun:
    """The rows of `run_id` in every table, in the order they were inserted (SQLite's rowid when available)."""
    out: list[tuple[str, tuple[dict[str, Any], ...]]] = []
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        for table in _tables():
            query = select(table).where(_owned_by(table, run_id))
            query = query.order_by(literal_column("rowid")) if sqlite else query.order_by(*table.primary_key.columns)
            out.append((table.name, tuple(dict(row._mapping) for row in conn.execute(query))))
    return StoredRun(run_id, tuple(out))


def import_run(engine: Engine, stored: StoredRun) -> None:
    """Insert every row of the run in one transaction; a run id already stored is refused (RunExistsError)."""
    try:
        with engine.begin() as conn:
            for table in _tables():
                rows = stored.rows(table.name)
                if rows:
                    conn.execute(insert(table), list(rows))
    except IntegrityError as exc:
        raise RunExistsError(f"run {stored.run_id} is already stored: {exc.orig}") from exc


def take_run(engine: Engine, run_id: str) -> StoredRun:
    """Export the run's rows and delete them from this store, in one transaction (a worker's store stays small)."""
    stored = export_run(engine, run_id)
    with engine.begin() as conn:
        for table in reversed(_tables()):  # children before the run row they point at
            conn.execute(delete(table).where(_owned_by(table, run_id)))
    return stored
