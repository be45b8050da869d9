"""The one standard-deviation routine behind every volatility in the project (features, risk sizing).

Two passes (the mean first, then the squared deviations from it) rather than E[x^2] - E[x]^2: the
one-pass form subtracts two nearly equal large numbers, so its error grows with the mean and with the
length of a running sum, while the two-pass form agrees with numpy's `std` to rounding on any series.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from papertrader.core.arrays import Array


def std_along(block: Array, axis: int = 0, ddof: int = 1, demean: bool = True) -> Array:
    """Std along one axis by two passes, so a large mean never cancels the variance away.

    demean=False gives the root mean square (realised volatility of returns taken about 0).
    """
    n = block.shape[axis]
    dev = block - np.add.reduce(block, axis=axis, keepdims=True) / n if demean else block
    out: Array = np.sqrt(np.add.reduce(dev * dev, axis=axis) / (n - ddof))
    return out


#: windows per pass of rolling_std: its (rows, window) temporaries stay a few MB however long the series
#: (each window's std is computed alone, so the passes give the numbers one pass over every window gives)
ROWS_PER_PASS = 1 << 15


def rolling_std(x: Array, window: int, ddof: int = 1, demean: bool = True) -> Array:
    """Std of the trailing `window` values of a 1-D series (row t uses rows <= t), NaN before that."""
    out: Array = np.full(x.shape, np.nan)
    if x.size >= window:
        view = sliding_window_view(x, window)
        for start in range(0, view.shape[0], ROWS_PER_PASS):
            block = view[start : start + ROWS_PER_PASS]
            out[window - 1 + start : window - 1 + start + block.shape[0]] = std_along(
                block, axis=-1, ddof=ddof, demean=demean
            )
    return out
