"""Answers remembered by (advisor, model, prompt hash), in memory and in a JSONL file, so nothing is asked twice.

A replay of the same bars builds the same prompts, so a second replay is answered entirely from here and
sends no request. Both valid answers and rejected ones (prose, malformed JSON) are kept: asking again would
spend budget for an answer of the same kind. Transport failures (timeouts, 5xx, 429) are not cached; they
say nothing about the prompt. The file holds hashes, model names and answers only: no key, no prompt text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from papertrader.signals.advisors.schema import AdvisorAnswer

log = logging.getLogger(__name__)


def prompt_key(advisor: str, model: str, system: str, user: str) -> str:
    """The cache key: SHA-256 over the advisor, the model and the exact messages."""
    payload = json.dumps([advisor, model, system, user], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """A remembered outcome: the validated answer, or why the answer was rejected."""

    answer: AdvisorAnswer | None
    rejected: str | None = None


class AnswerCache:
    """Thread-safe map from prompt key to outcome, appended to `path` (JSONL) when one is given."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._entries: dict[str, CachedAnswer] = {}
        if path is not None and path.is_file():
            self._load(path)

    def _load(self, path: Path) -> None:
        bad = 0
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                    key = row["key"]
                    if "answer" in row:
                        self._entries[key] = CachedAnswer(AdvisorAnswer.model_validate(row["answer"]))
                    else:
                        self._entries[key] = CachedAnswer(None, str(row["rejected"]))
                except (ValueError, KeyError, TypeError, ValidationError):
                    bad += 1
        if bad:
            log.warning("advisor cache %s: skipped %d unreadable lines", path.name, bad)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, key: str) -> CachedAnswer | None:
        """The remembered outcome for a prompt key, if any."""
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, model: str, outcome: CachedAnswer) -> None:
        """Remember an outcome (and append it to the file)."""
        row: dict[str, object] = {"key": key, "model": model}
        if outcome.answer is not None:
            row["answer"] = outcome.answer.model_dump()
        else:
            row["rejected"] = outcome.rejected or "rejected"
        with self._lock:
            self._entries[key] = outcome
            if self._path is not None:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                with self._path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row, separators=(",", ":")) + "\n")
