"""Map the project's tickers to Questrade symbolIds via symbol search, and remember the answers.

Spelling (an assumption the docs do not settle; see the module's report): Questrade writes share classes with
a dot (``BRK.B``) and suffixes Canadian listings by venue: ``.TO`` TSX, ``.VN`` TSX Venture, ``.CN`` CSE,
``.NE`` NEO. Yahoo-style input is translated: ``BRK-B`` -> ``BRK.B``, ``RCI-B.TO`` -> ``RCI.B.TO``,
``XYZ.V`` -> ``XYZ.VN``. The hit must match the translated ticker exactly (case-insensitively); no fuzzy pick.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from papertrader.core.errors import DataError
from papertrader.data.adapters.questrade.parse import SymbolInfo

log = logging.getLogger(__name__)

#: Yahoo suffix -> Questrade suffix, where they differ.
_SUFFIXES: Final = {".V": ".VN"}
_CANADIAN: Final = (".TO", ".VN", ".CN", ".NE")


def questrade_ticker(symbol: str) -> str:
    """Our (Yahoo-style) ticker as Questrade spells it."""
    text = symbol.strip().upper()
    if not text or any(c in text for c in "/?#\\ &="):
        raise DataError(f"not a ticker: {symbol!r:.40}")
    base, suffix = text, ""
    for candidate in (*_SUFFIXES, *_CANADIAN):
        if text.endswith(candidate):
            base, suffix = text[: -len(candidate)], _SUFFIXES.get(candidate, candidate)
            break
    return base.replace("-", ".") + suffix


def pick_symbol(ticker: str, hits: Sequence[SymbolInfo]) -> SymbolInfo:
    """The hit whose symbol is exactly the ticker; none is a DataError (unknown symbol)."""
    exact = [h for h in hits if h.symbol.upper() == ticker.upper()]
    if not exact:
        seen = ", ".join(h.symbol for h in hits[:5]) or "nothing"
        raise DataError(f"Questrade has no symbol {ticker!r} (search found {seen})")
    return exact[0]


class SymbolCache:
    """ticker -> symbolId, in memory and optionally in a JSON file (written atomically)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ids: dict[str, int] = {}
        if path is not None:
            try:
                data = json.loads(path.read_text("utf-8"))
                if isinstance(data, dict):
                    self._ids = {str(k): v for k, v in data.items() if isinstance(v, int) and not isinstance(v, bool)}
            except FileNotFoundError:
                pass
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                log.warning("questrade symbol cache %s unreadable (%s); starting empty", path, exc)

    def get(self, ticker: str) -> int | None:
        """The cached id, if any."""
        return self._ids.get(ticker.upper())

    def put(self, ticker: str, symbol_id: int) -> None:
        """Remember an id (and persist the cache when it has a file)."""
        with self._lock:
            self._ids[ticker.upper()] = symbol_id
            if self.path is not None:
                self._write(self.path)

    def _write(self, path: Path) -> None:
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self._ids, sort_keys=True), "utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            log.warning("questrade symbol cache %s not saved: %s", path, exc)
