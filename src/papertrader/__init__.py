"""papertrader: local-first AI paper trading with honest, out-of-sample, net-of-cost results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from papertrader.persistence.frames import RunFrames, load_run

__all__ = ["RunFrames", "__version__", "load_run"]

#: top-level names resolved on first use, so `import papertrader` stays free of pandas and SQLAlchemy
_LAZY = {"load_run": "papertrader.persistence.frames", "RunFrames": "papertrader.persistence.frames"}


def __getattr__(name: str) -> Any:
    """Import a lazily exported name (load_run, RunFrames) from its module on first access."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'papertrader' has no attribute {name!r}")
