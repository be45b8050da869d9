"""A module imported on first use: the CLI's command modules name pandas and numpy without paying for them
when only `papertrader --help` (or another command that never touches them) runs.

Usage, typed for mypy and deferred at run time::

    if TYPE_CHECKING:
        import pandas as pd
    else:
        pd = deferred("pandas")
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _Deferred(ModuleType):
    """Stands in for a module until an attribute is read, then forwards to the real (cached) module."""

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self.__name__), attr)


def deferred(name: str) -> ModuleType:
    """A stand-in for module `name` that imports it on the first attribute access (one import, then cached)."""
    return _Deferred(name)
