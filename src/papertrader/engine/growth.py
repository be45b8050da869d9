"""Growing (T, N) arrays for a live run: appending m rows costs O(m) amortised, and the bounded tails that
rolling computations need, so a bar's work does not depend on how long the history is."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from papertrader.core.arrays import Array


class Columns:
    """Growing (T, N) float64 columns with capacity doubling: appending m rows costs O(m), amortised."""

    def __init__(self, initial: Mapping[str, Array]) -> None:
        self._data: dict[str, Array] = {}
        self._len = 0
        for name, values in initial.items():
            block = np.asarray(values, dtype=np.float64)
            self._len = block.shape[0]
            buf = np.full((max(16, 2 * block.shape[0]), block.shape[1]), np.nan)
            buf[: block.shape[0]] = block
            self._data[name] = buf

    def __len__(self) -> int:
        return self._len

    def append(self, rows: Mapping[str, Array]) -> None:
        """Store (m, N) new rows of every column (the same m for all)."""
        m = next(iter(rows.values())).shape[0] if rows else 0
        for name, new in rows.items():
            buf = self._data[name]
            if self._len + m > buf.shape[0]:
                grown = np.full((2 * (self._len + m), buf.shape[1]), np.nan)
                grown[: self._len] = buf[: self._len]
                self._data[name] = buf = grown
            buf[self._len : self._len + m] = new
        self._len += m

    def drop(self, m: int) -> None:
        """Forget the first m rows (a bounded live panel), into fresh buffers so the old ones are freed."""
        if not 0 <= m <= self._len:
            raise ValueError(f"cannot drop {m} of {self._len} rows")
        if m == 0:
            return
        self._data = {name: drop_head(buf[: self._len], m) for name, buf in self._data.items()}
        self._len -= m

    def views(self) -> dict[str, Array]:
        """name -> (T, N) view of the rows so far (taken again after each append)."""
        return {name: buf[: self._len] for name, buf in self._data.items()}


def tail_start(close: Array, end: int, depth: int) -> int:
    """The first row of the shortest tail of close[:end] holding `depth` own bars (or all it has) of every symbol
    that has a bar in the new rows close[end:]; the others get no value there, so their past is not needed.

    Searched backwards in growing blocks, so it reads O(depth) rows when those symbols trade every bar.
    """
    wanted = np.isfinite(close[end:]).any(axis=0)
    need = np.where(wanted, depth, 0).astype(np.int64)
    start, block = end, 2 * depth
    while start > 0 and bool((need > 0).any()):
        lo = max(0, start - block)
        need -= np.isfinite(close[lo:start]).sum(axis=0)
        start, block = lo, 2 * block
    if start == 0 or not wanted.any():
        return start
    # trim: the latest row from which every wanted symbol still has `depth` own bars before `end`
    seen = np.cumsum(np.isfinite(close[start:end, wanted][::-1]), axis=0)
    enough = (seen >= depth).all(axis=1)
    return end - 1 - int(np.flatnonzero(enough)[0]) if enough.any() else start


def grow(values: Array, new: Array) -> Array:
    """`values` with `new` rows after it, written into spare capacity behind `values` when it has some.

    `values` must be a leading slice of a larger buffer that `grow` returned earlier (else it is copied once
    into a buffer of twice the size); rows past its end are free, so earlier views are never changed.
    """
    t, m = values.shape[0], new.shape[0]
    base = values.base if isinstance(values.base, np.ndarray) else None
    fits = (
        base is not None
        and base.ndim == values.ndim
        and base.shape[1:] == values.shape[1:]
        and base.shape[0] >= t + m
        and base.__array_interface__["data"][0] == values.__array_interface__["data"][0]
        and base.flags.c_contiguous
    )
    if not fits:
        base = np.full((max(16, 2 * (t + m)), *values.shape[1:]), np.nan)
        base[:t] = values
    assert base is not None
    base[t : t + m] = new
    return base[: t + m]


def drop_head(values: Array, m: int) -> Array:
    """`values` without its first m rows, copied into a buffer with spare capacity behind it (so `grow` appends
    in place) and sharing nothing with `values` (whose buffer is freed once unread)."""
    left = values.shape[0] - m
    base = np.full((max(16, 2 * left), *values.shape[1:]), np.nan)
    base[:left] = values[m:]
    return base[:left]


def own_bars_start(close: Array, depth: int) -> int:
    """The first row of close holding each symbol's last `depth` own bars (all of them where it has fewer): the
    rows before it are never read again by a reader that looks back `depth` own bars (`tail_start`)."""
    have = np.isfinite(close)
    if depth <= 0 or not have.any():
        return int(close.shape[0])
    counts = np.cumsum(have[::-1], axis=0)  # own bars from the end, row by row backwards
    traded = have.any(axis=0)
    enough = counts[-1] >= depth
    depth_th = close.shape[0] - 1 - np.argmax(counts >= depth, axis=0)  # the depth-th own bar from the end
    rows = np.where(enough, depth_th, np.argmax(have, axis=0))  # else the first own bar
    return int(rows[traded].min())


def same_memory(a: Array, b: Array) -> bool:
    """Whether two views are the same bytes (same start, shape, strides and type): equal without reading them."""
    return bool(
        a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
        and a.shape == b.shape
        and a.strides == b.strides
        and a.dtype == b.dtype
    )
