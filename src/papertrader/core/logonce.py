"""A logging filter that lets a repeated warning through once per process.

The demo calibrates the same board for the replay and again for each strategy of its comparison: the same
"left uncalibrated" warning printed four to six times reads like four to six problems. Once is the news.
"""

from __future__ import annotations

import logging
import threading


class OncePerMessage(logging.Filter):
    """Pass a record whose text contains `marker` only the first time that exact text is seen; others always pass."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        """True to emit: any record without the marker, and the first of each distinct marked text."""
        text = record.getMessage()
        if self.marker not in text:
            return True
        with self._lock:
            if text in self._seen:
                return False
            self._seen.add(text)
            return True
