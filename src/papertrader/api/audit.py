"""The audit trail of control actions: who (client address) asked for what, logged, kept and appended to a file."""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from pathlib import Path

from papertrader.api.schemas import AuditEntry
from papertrader.core.clock import Clock, WallClock

log = logging.getLogger("papertrader.api.audit")

AUDIT_FILE = "api-audit.jsonl"


class AuditTrail:
    """Keeps recent entries in memory and appends every one as a JSON line to PAPERTRADER_HOME/api-audit.jsonl."""

    def __init__(self, path: Path | None, clock: Clock | None = None, keep: int = 500) -> None:
        self._path = path
        self._clock = clock or WallClock()
        self._entries: deque[AuditEntry] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def record(self, client: str, user_agent: str, action: str, detail: str, accepted: bool) -> AuditEntry:
        """Log, keep and persist one action; returns the entry for the stream."""
        entry = AuditEntry(
            at=self._clock.now(),
            client=client,
            user_agent=user_agent[:200],
            action=action,
            detail=detail,
            outcome="accepted" if accepted else "refused",
        )
        log.log(
            logging.INFO if accepted else logging.WARNING,
            "control %s by %s (%s): %s [%s]",
            action,
            client,
            entry.user_agent,
            detail,
            entry.outcome,
        )
        with self._lock:
            self._entries.append(entry)
            if self._path is not None:
                self._append(entry)
        return entry

    def _append(self, entry: AuditEntry) -> None:
        assert self._path is not None
        try:
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(entry.model_dump_json() + "\n")
        except OSError:
            log.exception("could not append to the audit file %s", self._path)

    def entries(self) -> list[AuditEntry]:
        """Recent entries, newest first."""
        with self._lock:
            return list(reversed(self._entries))
