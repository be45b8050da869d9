"""A read-only window onto feature panels that ends at the current cycle: the future is unreachable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

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
        self._reach(name, start, length)
        base = self._base
        return np.array(self._features[name][start - base : self._k - base + 1], dtype=np.float64)

    def windows(self, names: Sequence[str], length: int) -> Array:
        """(len(names), rows, N): `window` of every name in one block (why: a model member reads dozens of
        panels per decision, and one copy each into the block beats a copy each and a stack)."""
        start = max(0, self._k - length + 1)
        if names:
            self._reach(names[0], start, length)
        return self._block(names, slice(start - self._base, self._k - self._base + 1))

    def rows(self, names: Sequence[str], back: npt.NDArray[np.intp]) -> Array:
        """(len(names), len(back), N): the rows `back` cycles before the current one (0 is now) of every name,
        only those (why: the weekly GRU reads a few scattered rows, its closed weeks, not the window around them)."""
        if back.size and (int(back.min()) < 0 or int(back.max()) > self._k):
            raise ValueError(f"rows must lie between cycle 0 and the current cycle {self._k}")
        if back.size and names:
            self._reach(names[0], self._k - int(back.max()), int(back.max()) + 1)
        return self._block(names, self._k - self._base - back)

    def _reach(self, name: str, start: int, length: int) -> None:
        """Never a silently shorter window: the live panel keeps too few rows for this one."""
        if start < self._base:
            raise ValueError(
                f"a {length}-row window of {name!r} at cycle {self._k} reaches before the live panel's first kept row "
                f"(cycle {self._base}); raise live.panel_rows"
            )

    def _block(self, names: Sequence[str], at: slice | npt.NDArray[np.intp]) -> Array:
        if not names:
            raise ValueError("a block needs at least one feature")
        first = self._features[names[0]][at]
        out = np.empty((len(names), *first.shape), dtype=np.float64)
        out[0] = first
        for j, name in enumerate(names[1:], 1):
            out[j] = self._features[name][at]
        return out
