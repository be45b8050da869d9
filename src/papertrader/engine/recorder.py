"""Commits cycle records to the database: every cycle in paper mode, in batches in backtests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import OperationalError

from papertrader.core.errors import TemporaryError
from papertrader.engine.cycle import RecorderBacklogError
from papertrader.persistence.repository import CycleRecord, RunRepository


class BatchRecorder:
    """Buffers cycle records and writes each batch in one transaction."""

    def __init__(self, repo: RunRepository, run_id: str, every: int = 1) -> None:
        self.repo = repo
        self.run_id = run_id
        self.every = max(1, every)
        self._buffer: list[CycleRecord] = []

    def record(self, record: CycleRecord) -> None:
        """Add a cycle; commit when the batch is full. A failed commit keeps the batch for the next try."""
        self._buffer.append(record)
        if len(self._buffer) >= self.every:
            try:
                self.flush()
            except (TemporaryError, OperationalError, OSError) as exc:
                raise RecorderBacklogError(
                    f"{len(self._buffer)} cycles waiting to be committed: {type(exc).__name__}: {exc}"
                ) from exc

    @property
    def backlog(self) -> int:
        """Cycles kept in memory but not yet committed."""
        return len(self._buffer)

    def flush(self) -> None:
        """Commit everything buffered, all or nothing (the buffer is kept if the commit fails)."""
        if self._buffer:
            self.repo.record_cycles(self.run_id, self._buffer)
            self._buffer = []

    def finish(self, status: str, summary: dict[str, Any]) -> None:
        """Commit what is left and mark the run's final status."""
        self.flush()
        self.repo.finish_run(self.run_id, status, summary)
