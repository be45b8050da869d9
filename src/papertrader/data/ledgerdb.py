"""The small SQLite checkpoint files of the resumable data jobs (`data backfill`, `data collect`).

Each job keeps what it already asked for in its own file beside the lake: one connection shared by the job's
threads behind a lock, WAL so a killed process loses nothing committed, and every failure of the file itself
reported as a TemporaryError (retry) rather than a crash in the middle of a run.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from papertrader.core.errors import ConfigError, TemporaryError


class SqliteLedger:
    """One job's checkpoint database: created with `schema` on open, one short transaction per `_connect`."""

    what = "ledger"  # the job's name in error messages

    def __init__(self, path: Path | str, schema: str) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")  # survives a killed process; the lake is the truth
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the {self.what} {self.path}: {exc}") from None
        with self._connect() as conn:
            conn.executescript(schema)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One short transaction (committed on success), serialised within the process."""
        with self._lock:
            try:
                with self._conn:
                    yield self._conn
            except sqlite3.Error as exc:
                raise TemporaryError(f"{self.what} {self.path} unavailable ({exc}); retry shortly") from None
