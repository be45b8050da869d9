"""A logging filter that lets a repeated warning through once per process.

The demo calibrates the same board for the replay and again for each strategy of its comparison: the same
"left uncalibrated" warning printed four to six times reads like four to six problems. Once is the news.
"""

from __future__ import annotations

import logging
import threading


class OncePerMessage(logging.Filter):
    """Pass a record whose text contains one of `markers` only the first time that exact text is seen; others pass."""

    def __init__(self, *markers: str) -> None:
        super().__init__()
        self.markers = markers
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        """True to emit: any record without the marker, and the first of each distinct marked text."""
        text = record.getMessage()
        if not any(marker in text for marker in self.markers):
            return True
        with self._lock:
            if text in self._seen:
                return False
            self._seen.add(text)
            return True
