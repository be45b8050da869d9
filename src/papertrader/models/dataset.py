"""Training windows cut from the pipeline's (T, N, F) tensor: inputs end at the decision row, never after.

A sample is (row t, symbol n): its input is tensor[t - lookback + 1 .. t, n, :], everything known at the
close of bar t; its label (computed by features.labels, the only code that looks forward) says what happened
after t. Windows are gathered lazily per batch, so a long hourly history does not need (S, L, F) in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from papertrader.core.arrays import BoolArray, IntArray
from papertrader.core.errors import DataError

FloatArray = npt.NDArray[np.float32]

#: Label value of a sample with no label (the last `horizon` rows, gaps).
MISSING = -1


def complete_windows(tensor: FloatArray, lookback: int, present: BoolArray | None = None) -> BoolArray:
    """(T, N) mask: True where the `lookback` rows ending at t are all finite (and present) for the symbol."""
    t, n, _ = tensor.shape
    row_ok = np.isfinite(tensor).all(axis=2)
    if present is not None:
        row_ok &= present
    bad = np.cumsum(~row_ok, axis=0, dtype=np.int64)
    before = np.zeros((t, n), dtype=np.int64)
    before[lookback:] = bad[:-lookback]
    ok = (bad - before) == 0
    ok[: lookback - 1] = False
    return np.asarray(ok, dtype=np.bool_)


@dataclass(frozen=True)
class Windows:
    """Samples as (row, symbol) pairs over a shared tensor; `batch` materialises (B, lookback, F) float32."""

    tensor: FloatArray
    lookback: int
    rows: IntArray
    symbols: IntArray
    y: IntArray
    aux: npt.NDArray[np.float32]
    decision_ns: IntArray

    def __len__(self) -> int:
        return int(self.rows.size)

    @property
    def n_features(self) -> int:
        """Features per timestep."""
        return int(self.tensor.shape[2])

    def batch(self, idx: IntArray | slice | None = None) -> FloatArray:
        """Inputs of the selected samples, (B, lookback, F) float32, oldest timestep first."""
        rows = self.rows if idx is None else self.rows[idx]
        syms = self.symbols if idx is None else self.symbols[idx]
        steps = np.arange(-self.lookback + 1, 1, dtype=np.int64)
        gathered = self.tensor[rows[:, None] + steps[None, :], syms[:, None], :]
        return np.ascontiguousarray(gathered, dtype=np.float32)

    def array(self) -> FloatArray:
        """Every sample's window at once, (S, lookback, F): only for small sets."""
        return self.batch()

    def last_step(self) -> FloatArray:
        """(S, F) features at each decision row: what a tabular baseline sees."""
        return np.ascontiguousarray(self.tensor[self.rows, self.symbols, :], dtype=np.float32)

    def subset(self, idx: IntArray) -> Windows:
        """The samples at positions idx, sharing the same tensor."""
        return Windows(
            self.tensor,
            self.lookback,
            self.rows[idx],
            self.symbols[idx],
            self.y[idx],
            self.aux[idx],
            self.decision_ns[idx],
        )

    def class_counts(self, n_classes: int) -> IntArray:
        """How many samples each class has, for class weights and the majority baseline."""
        return np.asarray(np.bincount(self.y, minlength=n_classes), dtype=np.int64)


def make_windows(
    tensor: FloatArray,
    labels: IntArray,
    decision_ns: IntArray,
    lookback: int,
    rows: IntArray | None = None,
    aux: npt.NDArray[np.float32] | None = None,
    present: BoolArray | None = None,
) -> Windows:
    """All complete, labelled samples whose decision row is in `rows` (default: every row).

    tensor: (T, N, F) float32; labels: (T, N) int64 with MISSING where unknown; decision_ns: (T,) UTC
    nanoseconds at which row t's bar is complete; aux: optional (T, N) float32 second target (NaN unknown);
    present: optional (T, N) mask of rows where the symbol has its own bar (the pipeline fills gaps, so a
    window across a gap would otherwise look complete).
    """
    if tensor.ndim != 3 or labels.shape != tensor.shape[:2] or decision_ns.shape != tensor.shape[:1]:
        raise DataError("windows need tensor (T, N, F), labels (T, N) and decision times (T,)")
    if tensor.dtype != np.float32:
        tensor = tensor.astype(np.float32)
    t_rows = tensor.shape[0]
    wanted = np.zeros(t_rows, dtype=bool)
    if rows is None:
        wanted[:] = True
    else:
        r = rows[(rows >= 0) & (rows < t_rows)]
        wanted[r] = True
    aux_full = np.full(labels.shape, np.nan, dtype=np.float32) if aux is None else aux.astype(np.float32)
    ok = complete_windows(tensor, lookback, present) & (labels != MISSING) & wanted[:, None]
    if aux is not None:
        ok &= np.isfinite(aux_full)
    t_idx, n_idx = np.nonzero(ok)
    order = np.lexsort((n_idx, t_idx))  # time-major, so batches in order are time-ordered
    t_idx, n_idx = t_idx[order].astype(np.int64), n_idx[order].astype(np.int64)
    return Windows(
        tensor=tensor,
        lookback=lookback,
        rows=t_idx,
        symbols=n_idx,
        y=np.asarray(labels[t_idx, n_idx], dtype=np.int64),
        aux=np.asarray(aux_full[t_idx, n_idx], dtype=np.float32),
        decision_ns=np.asarray(decision_ns[t_idx], dtype=np.int64),
    )


def latest_windows(tensor: FloatArray, lookback: int, row: int | None = None) -> FloatArray:
    """The (N, lookback, F) inputs for every symbol at one decision row (default: the newest): inference."""
    end = tensor.shape[0] - 1 if row is None else row
    if end - lookback + 1 < 0:
        raise DataError(f"inference needs {lookback} rows of features, only {end + 1} available")
    block = tensor[end - lookback + 1 : end + 1]
    return np.ascontiguousarray(np.transpose(block, (1, 0, 2)), dtype=np.float32)
