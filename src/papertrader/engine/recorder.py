"""Commits cycle records to the database: every cycle in paper mode, in batches in backtests.

In replay and live the commit runs on a writer thread, off the decision path: a cycle's orders are submitted at
its close and can fill only at the next bar's open, so `Engine.step` calls `settle()` before that bar's fills and
an order is durable before it can fill, exactly as with a synchronous commit. A failed commit keeps its cycles and
retries them with the next one (the database component turns DEGRADED), as the synchronous recorder does.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy.exc import OperationalError

from papertrader.core.errors import TemporaryError
from papertrader.engine.cycle import RecorderBacklogError
from papertrader.persistence.db import is_sqlite_memory
from papertrader.persistence.repository import CycleRecord, QuoteRecord, RunRepository

#: what a commit may raise and still be retried with the next cycle (a locked or unreachable database)
RETRYABLE = (TemporaryError, OperationalError, OSError)


class BatchRecorder:
    """Buffers cycle records and writes each batch in one transaction, on a writer thread when `background`."""

    def __init__(self, repo: RunRepository, run_id: str, every: int = 1, *, background: bool = False) -> None:
        self.repo = repo
        self.run_id = run_id
        self.every = max(1, every)
        self._buffer: list[CycleRecord] = []
        # an in-memory SQLite database is one shared connection: it cannot take a second thread's writes
        self._writer = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"commit-{run_id}")
            if background and not is_sqlite_memory(repo.engine.url)
            else None
        )
        self._inflight: tuple[list[CycleRecord], Future[int]] | None = None
        self._failed: BaseException | None = None

    @property
    def background(self) -> bool:
        """Whether commits run on the writer thread."""
        return self._writer is not None

    def record(self, record: CycleRecord) -> None:
        """Add a cycle; commit when the batch is full. A failed commit keeps the batch for the next try."""
        self.settle()
        failed, self._failed = self._failed, None
        self._buffer.append(record)
        if len(self._buffer) < self.every:
            return
        if self._writer is not None:
            batch, self._buffer = self._buffer, []
            self._inflight = (batch, self._writer.submit(self.repo.record_cycles, self.run_id, batch))
            if failed is not None:  # the retry is under way; say the earlier cycles were late
                raise RecorderBacklogError(
                    f"{len(batch)} cycles waiting to be committed: {type(failed).__name__}: {failed}"
                ) from failed
            return
        try:
            self.flush()
        except RETRYABLE as exc:
            raise RecorderBacklogError(
                f"{len(self._buffer)} cycles waiting to be committed: {type(exc).__name__}: {exc}"
            ) from exc

    def record_many(self, records: list[CycleRecord]) -> None:
        """`record` for several cycles in order (a sparse run's quiet stretch): one hand-over, the same commits'
        content (a batch may hold more than `every` cycles)."""
        if not records:
            return
        *head, last = records
        self.settle()
        self._buffer.extend(head)
        self.record(last)

    def settle(self) -> None:
        """Wait for the commit in flight (the barrier before the next bar's fills); a failed one is kept."""
        if self._inflight is None:
            return
        batch, future = self._inflight
        self._inflight = None
        try:
            future.result()
        except RETRYABLE as exc:
            self._buffer[:0] = batch
            self._failed = exc
        except Exception:
            self._buffer[:0] = batch  # kept, as a failed synchronous commit keeps it
            raise

    def record_quotes(self, record: QuoteRecord) -> bool:
        """Commit what quotes did between closes now, on the caller's thread, after every cycle handed over.

        False when it could not be made durable (earlier cycles still wait for a retry, or the database refused):
        the caller keeps it for the next cycle's record, as before quotes were committed on their own.
        """
        self.settle()
        if self._buffer:  # committing it ahead of cycles not yet stored would put it under the wrong cycle
            return False
        try:
            self.repo.record_quotes(self.run_id, record)
        except RETRYABLE:
            return False
        return True

    @property
    def backlog(self) -> int:
        """Cycles kept in memory but not yet committed (a commit in flight included)."""
        return len(self._buffer) + (len(self._inflight[0]) if self._inflight is not None else 0)

    def flush(self) -> None:
        """Commit everything buffered, all or nothing (the buffer is kept if the commit fails)."""
        self.settle()
        if self._buffer:
            self.repo.record_cycles(self.run_id, self._buffer)
            self._buffer = []
        self._failed = None

    def finish(self, status: str, summary: dict[str, Any]) -> None:
        """Commit what is left, mark the run's final status and stop the writer thread."""
        try:
            self.flush()
            self.repo.finish_run(self.run_id, status, summary)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the writer thread after the commit in flight (the buffer is left for `flush`)."""
        if self._writer is not None:
            self.settle()
            self._writer.shutdown(wait=True)
            self._writer = None
