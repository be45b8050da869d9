"""Market data: a validated Parquet lake queried through DuckDB, and the adapters that fill it.

The names load on first use (PEP 562), so a light submodule (`papertrader.data.sources`) does not import
pandas, pyarrow and DuckDB with the package.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from papertrader.data.quality import QualityResult, validate_bars
    from papertrader.data.store import Lake, WriteReport

__all__ = ["Lake", "QualityResult", "WriteReport", "validate_bars"]
_HOME = {"Lake": "store", "WriteReport": "store", "QualityResult": "quality", "validate_bars": "quality"}


def __getattr__(name: str) -> Any:
    """Import the submodule that defines `name` when it is first asked for."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
