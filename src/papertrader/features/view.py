"""A read-only window onto feature panels that ends at the current cycle: the future is unreachable."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from papertrader.core.arrays import Array


class FeatureView:
    """Feature panels seen from cycle k: rows after k cannot be read through this object."""

    __slots__ = ("_base", "_features", "_k")

    def __init__(self, features: Mapping[str, Array], k: int, base: int = 0) -> None:
        self._features = features
        self._k = k
        #: the cycle number of the panels' first row (a bounded live panel dropped the rows before it)
        self._base = base

    @property
    def k(self) -> int:
        """The cycle index this view stands at."""
        return self._k

    def names(self) -> tuple[str, ...]:
        """Available feature names."""
        return tuple(self._features)

    def now(self, name: str) -> Array:
        """Values of one feature for every symbol at the current cycle (a copy)."""
        return np.array(self._features[name][self._k - self._base], dtype=np.float64)

    def window(self, name: str, length: int) -> Array:
        """The last `length` rows up to and including the current cycle (fewer at the start)."""
        start = max(0, self._k - length + 1)
        if start < self._base:  # never a silently shorter window: the live panel keeps too few rows for this one
            raise ValueError(
                f"a {length}-row window of {name!r} at cycle {self._k} reaches before the live panel's first kept row "
                f"(cycle {self._base}); raise live.panel_rows"
            )
        base = self._base
        return np.array(self._features[name][start - base : self._k - base + 1], dtype=np.float64)
