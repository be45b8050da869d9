"""The last few own bars of every symbol, newest last: the shared state of the streaming features."""

from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np

from papertrader.core.arrays import Array, BoolArray, IntArray


@dataclass(frozen=True, slots=True)
class Depths:
    """How many own bars each field must remember (the longest window that reads it)."""

    open: int = 1
    high: int = 1
    low: int = 1
    close: int = 2
    volume: int = 1
    logret: int = 1

    def merge(self, other: Depths) -> Depths:
        """The deeper of two requirements, field by field."""
        return Depths(*(max(a, b) for a, b in zip(astuple(self), astuple(other), strict=True)))


class BarHistory:
    """Per-symbol rings of the last own bars (a symbol without a bar does not move), newest last.

    Row -1 holds each symbol's newest bar, row -2 the one before, and so on; rows never filled are NaN.
    `count` is how many bars each symbol has had in total, `has` which symbols got a bar this cycle.
    """

    def __init__(self, n_symbols: int, depths: Depths) -> None:
        d = depths.merge(Depths())

        def ring(rows: int) -> Array:
            return np.full((rows, n_symbols), np.nan)

        self.open, self.high, self.low = ring(d.open), ring(d.high), ring(d.low)
        self.close, self.volume = ring(d.close), ring(d.volume)
        #: log return of each own bar against the symbol's previous own bar
        self.logret = ring(d.logret)
        self.count: IntArray = np.zeros(n_symbols, dtype=np.int64)
        self.has: BoolArray = np.zeros(n_symbols, dtype=np.bool_)

    def push(self, open_: Array, high: Array, low: Array, close: Array, volume: Array) -> None:
        """Append one cycle: symbols whose close is NaN have no bar and keep their history as it is."""
        has = np.isfinite(close)
        self.has = has
        if not has.any():
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            ret = np.log(close / self.close[-1])
        ret[self.count < 1] = np.nan
        for buf, new in (
            (self.open, open_),
            (self.high, high),
            (self.low, low),
            (self.close, close),
            (self.volume, volume),
            (self.logret, ret),
        ):
            push_rows(buf, new, has)
        self.count[has] += 1


def push_rows(buf: Array, new: Array, has: BoolArray) -> None:
    """Shift a (depth, N) ring by one row for the symbols in `has` and store their new values last."""
    if has.all():
        if buf.shape[0] > 1:
            buf[:-1] = buf[1:]
        buf[-1] = new
    elif has.any():
        cols = np.flatnonzero(has)
        buf[:-1, cols] = buf[1:, cols]
        buf[-1, cols] = new[cols]
