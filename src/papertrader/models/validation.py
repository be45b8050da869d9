"""Walk-forward train/validation/test windows over time, with purging and an embargo.

A sample decided at row t carries a label that looks `horizon` rows ahead, so its information spans rows
t .. t + horizon. Folds are laid out in time as

    train | gap | validation | gap | test | embargo

where each gap is `horizon + embargo` rows (default embargo = horizon). Purging drops every training
(or validation) sample whose label window reaches into a later set; the embargo additionally keeps the rows
right after a test window out of any training set, which matters once folds are combined in other orders.
Rows are indices on the common time axis of the (T, N, F) feature tensor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from papertrader.core.arrays import IntArray
from papertrader.core.errors import ConfigError

Scheme = Literal["rolling", "expanding"]


@dataclass(frozen=True, slots=True)
class WalkForwardConfig:
    """How to cut the time axis into folds; sizes are in rows (bars) of the common time axis."""

    n_folds: int = 4
    test_rows: int = 252
    val_rows: int = 126
    train_rows: int = 756  # rolling: the window length; expanding: the minimum
    horizon: int = 5
    embargo: int | None = None  # None: as long as the label horizon
    scheme: Scheme = "expanding"

    def __post_init__(self) -> None:
        if self.n_folds < 1 or self.test_rows < 1 or self.val_rows < 1 or self.train_rows < 1:
            raise ConfigError("walk-forward: folds and window sizes must be positive")
        if self.horizon < 1 or (self.embargo is not None and self.embargo < 0):
            raise ConfigError("walk-forward: horizon >= 1 and embargo >= 0")

    @property
    def embargo_rows(self) -> int:
        """The embargo actually used: the label horizon unless set."""
        return self.horizon if self.embargo is None else self.embargo

    @property
    def gap(self) -> int:
        """Rows left empty between consecutive sets: the purge (horizon) plus the embargo."""
        return self.horizon + self.embargo_rows

    def to_dict(self) -> dict[str, object]:
        """Plain dict for reports and artifacts."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Fold:
    """One fold's row ranges, half-open [start, stop), on the common time axis."""

    index: int
    train: tuple[int, int]
    val: tuple[int, int]
    test: tuple[int, int]
    horizon: int
    embargo: int

    @property
    def embargo_window(self) -> tuple[int, int]:
        """Rows after the test window that no training sample may come from."""
        stop = self.test[1]
        return stop, stop + self.horizon + self.embargo

    def rows(self, part: Literal["train", "val", "test"]) -> IntArray:
        """Decision rows of one set, already purged against the later sets."""
        start, stop = getattr(self, part)
        rows = np.arange(start, stop, dtype=np.int64)
        if part == "train":
            rows = purge(rows, self.horizon, [self.val, self.test], [self.embargo_window])
        elif part == "val":
            rows = purge(rows, self.horizon, [self.test], [self.embargo_window])
        return rows

    def to_dict(self) -> dict[str, object]:
        """Plain dict for reports."""
        return {"index": self.index, "train": self.train, "val": self.val, "test": self.test}


def purge(
    rows: IntArray,
    horizon: int,
    later: list[tuple[int, int]],
    embargoed: list[tuple[int, int]],
) -> IntArray:
    """Drop rows whose label window [t, t + horizon] overlaps a later set's label span, or that are embargoed.

    A set decided over rows [a, b) uses information up to row b - 1 + horizon through its labels.
    """
    keep = np.ones(rows.size, dtype=bool)
    for a, b in later:
        span_stop = b - 1 + horizon
        keep &= ~((rows + horizon >= a) & (rows <= span_stop))
    for a, b in embargoed:
        keep &= ~((rows >= a) & (rows < b))
    return rows[keep]


def make_folds(n_rows: int, config: WalkForwardConfig, first_row: int = 0) -> list[Fold]:
    """Folds whose test windows tile the end of [first_row, n_rows) in time order, oldest first.

    The last `horizon` rows have no label and are never a test row. Raises ConfigError when the data is
    too short for the requested windows, naming what to shrink.
    """
    gap, h = config.gap, config.horizon
    usable_stop = n_rows - h
    tests_start = usable_stop - config.n_folds * config.test_rows
    earliest_train_stop = tests_start - gap - config.val_rows - gap
    if earliest_train_stop - first_row < config.train_rows:
        need = first_row + config.train_rows + 2 * gap + config.val_rows + config.n_folds * config.test_rows + h
        raise ConfigError(
            f"walk-forward needs {need} rows but the data has {n_rows}: "
            "use fewer folds, shorter windows, or more history"
        )
    folds: list[Fold] = []
    for k in range(config.n_folds):
        test = (tests_start + k * config.test_rows, tests_start + (k + 1) * config.test_rows)
        val = (test[0] - gap - config.val_rows, test[0] - gap)
        train_stop = val[0] - gap
        train_start = first_row if config.scheme == "expanding" else max(first_row, train_stop - config.train_rows)
        folds.append(Fold(k, (train_start, train_stop), val, test, h, config.embargo_rows))
    return folds
