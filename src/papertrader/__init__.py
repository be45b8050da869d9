"""papertrader: local-first AI paper trading with honest, out-of-sample, net-of-cost results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from papertrader.features.technical import PriceArrays
    from papertrader.features.view import FeatureView
    from papertrader.persistence.frames import RunFrames, load_run
    from papertrader.signals.base import Decision, Strategy

__all__ = ["Decision", "FeatureView", "PriceArrays", "RunFrames", "Strategy", "__version__", "load_run"]

#: top-level names resolved on first use, so `import papertrader` stays free of numpy, pandas and SQLAlchemy;
#: Strategy, Decision and FeatureView are the public plug-in API (docs/strategies.md)
_LAZY = {
    "load_run": "papertrader.persistence.frames",
    "RunFrames": "papertrader.persistence.frames",
    "Decision": "papertrader.signals.base",
    "Strategy": "papertrader.signals.base",
    "FeatureView": "papertrader.features.view",
    "PriceArrays": "papertrader.features.technical",
}


def __getattr__(name: str) -> Any:
    """Import a lazily exported name (load_run, RunFrames, the strategy API) from its module on first access."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'papertrader' has no attribute {name!r}")
