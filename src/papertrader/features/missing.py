"""The missing-data policy: forward fill at most N rows, and say so in a mask column.

A value missing at row t (no bar, indicator still warming up, macro series stale, no report yet) is
replaced by the symbol's last value of that feature if it is at most `max_ffill` rows old; either way
the `<name>_missing` mask is 1 at t. What is still missing after that is left NaN here and becomes the
scaler's fill value (0 = the training median) after scaling. Filling only ever looks backwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from papertrader.core.arrays import Array
from papertrader.core.errors import ConfigError


@dataclass(frozen=True, slots=True)
class MissingPolicy:
    """How far a value may be carried forward, and whether mask columns are emitted."""

    max_ffill: int = 5
    masks: bool = True

    def __post_init__(self) -> None:
        if self.max_ffill < 0:
            raise ConfigError("missing.max_ffill must be >= 0")

    def mask_names(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """Names of the mask columns for these features (none when masks are off)."""
        return tuple(f"{n}_missing" for n in names) if self.masks else ()


def fill_batch(values: Array, policy: MissingPolicy, masks: Array | None = None, want_masks: bool = True) -> Array:
    """Bounded forward fill of a (F, T, N) block in place along T; returns the (F, T, N) missing mask.

    `masks` may be a preallocated (F, T, N) float array to write the mask into (saves a copy);
    with want_masks=False no mask is kept and an empty array is returned.
    """
    f, t, n = values.shape
    out = (np.empty(values.shape) if masks is None else masks) if want_masks else np.empty((0, t, n))
    rows = np.arange(t, dtype=np.intp)[:, None]
    cols = np.arange(n, dtype=np.intp)[None, :]
    for i in range(f):
        x = values[i]
        miss = np.isnan(x)
        if want_masks:
            out[i] = miss
        if policy.max_ffill == 0 or t == 0 or not miss.any():
            continue
        leading = np.where(miss.all(axis=0), t, np.argmin(miss, axis=0))
        if (miss.sum(axis=0) == leading).all():
            continue  # gaps only before each column's first value: nothing earlier to carry forward
        last = np.maximum.accumulate(np.where(miss, -1, rows), axis=0)
        fill = miss & (last >= 0) & (rows - last <= policy.max_ffill)
        if fill.any():
            src = x[np.clip(last, 0, None), cols]
            x[fill] = src[fill]
    return out


class FillState:
    """The same policy one row at a time: last seen value and its row, per feature and symbol."""

    def __init__(self, n_features: int, n_symbols: int, policy: MissingPolicy) -> None:
        self.policy = policy
        self._last = np.full((n_features, n_symbols), np.nan)
        self._row: npt.NDArray[np.int64] = np.full((n_features, n_symbols), -1, dtype=np.int64)
        self._k = -1

    def update(self, row: Array) -> Array:
        """Fill a (F, N) row in place; returns its (F, N) missing mask."""
        self._k += 1
        missing = np.isnan(row)
        present = ~missing
        self._last[present] = row[present]
        self._row[present] = self._k
        fill = missing & (self._row >= 0) & (self._k - self._row <= self.policy.max_ffill)
        row[fill] = self._last[fill]
        return missing.astype(np.float64)
