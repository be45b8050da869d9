"""The last few own bars of every symbol, newest last: the shared state of the streaming features."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class BarHistory:
    """Per-symbol ring of the last `depth` bars (own bars only: a symbol without a bar does not move).

    Row -1 holds each symbol's newest bar, row -2 the one before, and so on; rows never filled are NaN.
    `count` is how many bars each symbol has had in total, `has` which symbols got a bar this cycle.
    """

    def __init__(self, n_symbols: int, depth: int) -> None:
        if depth < 2:
            raise ValueError("a bar history needs at least two rows")
        self.depth = depth
        shape = (depth, n_symbols)
        self.open: Array = np.full(shape, np.nan)
        self.high: Array = np.full(shape, np.nan)
        self.low: Array = np.full(shape, np.nan)
        self.close: Array = np.full(shape, np.nan)
        self.volume: Array = np.full(shape, np.nan)
        #: log return of each own bar against the symbol's previous own bar
        self.logret: Array = np.full(shape, np.nan)
        self.count: IntArray = np.zeros(n_symbols, dtype=np.int64)
        self.has: BoolArray = np.zeros(n_symbols, dtype=np.bool_)

    def push(self, open_: Array, high: Array, low: Array, close: Array, volume: Array) -> None:
        """Append one cycle: symbols whose close is NaN have no bar and keep their history as it is."""
        has = np.isfinite(close)
        self.has = has
        if not has.any():
            return
        prev_close = self.close[-1].copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            ret = np.log(close / prev_close)
        ret = np.where(self.count >= 1, ret, np.nan)
        fields = (
            (self.open, open_),
            (self.high, high),
            (self.low, low),
            (self.close, close),
            (self.volume, volume),
            (self.logret, ret),
        )
        if has.all():
            for buf, new in fields:
                buf[:-1] = buf[1:]
                buf[-1] = new
        else:
            cols = np.flatnonzero(has)
            for buf, new in fields:
                buf[:-1, cols] = buf[1:, cols]
                buf[-1, cols] = new[cols]
        self.count[has] += 1


def push_rows(buf: Array, new: Array, has: BoolArray) -> None:
    """Shift a (depth, N) ring by one row for the symbols in `has` and store their new values last."""
    if has.all():
        buf[:-1] = buf[1:]
        buf[-1] = new
    elif has.any():
        cols = np.flatnonzero(has)
        buf[:-1, cols] = buf[1:, cols]
        buf[-1, cols] = new[cols]
