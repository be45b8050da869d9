"""What a run's cycles produced, kept compact: an outcome object per stepped cycle, arrays per quiet stretch.

A backtest keeps every cycle's outcome for its curves. Most cycles of a sparse run are quiet (nothing traded), and
their outcomes differ only in the marks, so a stretch of them is kept as integer tick arrays (engine/quiet.py) and a
`CycleOutcome` is built only when one is read. Reading gives exactly the outcome stepping the cycle would have
returned; the curves (`equities`, `fills`) are read in bulk without building one.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, overload

import numpy as np

from papertrader.core.arrays import Array, IntArray
from papertrader.domain.types import Fill
from papertrader.portfolio.ledger import Valuation

if TYPE_CHECKING:
    from papertrader.engine.quiet import FixedMarks


@dataclass(frozen=True, slots=True)
class CycleOutcome:
    """What one cycle produced, for the caller's curves and progress display."""

    k: int
    ts: datetime
    valuation: Valuation
    fills: tuple[Fill, ...]


@dataclass(frozen=True, slots=True)
class QuietBlock:
    """Cycles start..start+len-1, none of which traded: their valuations as ticks (or objects) and close times."""

    start: int
    times: Sequence[datetime]
    marks: FixedMarks | None = None
    valuations: Sequence[Valuation] | None = None

    def __len__(self) -> int:
        return len(self.marks) if self.marks is not None else len(self.valuations or ())

    def valuation(self, r: int) -> Valuation:
        """Cycle start + r's valuation."""
        if self.marks is not None:
            return self.marks.valuation(r)
        assert self.valuations is not None
        return self.valuations[r]

    def outcome(self, r: int) -> CycleOutcome:
        """The outcome cycle start + r returned."""
        k = self.start + r
        return CycleOutcome(k, self.times[k], self.valuation(r), ())

    def equities(self) -> Array:
        """float(equity) of every cycle, in bulk."""
        if self.marks is not None:
            return self.marks.equity
        return np.array([float(v.equity) for v in self.valuations or ()])

    def gross(self) -> Array:
        """float(gross_exposure) of every cycle, in bulk (exact ticks / 10**4 is the float of the Decimal)."""
        if self.marks is not None:
            return self.marks.gross_floats()
        return np.array([float(v.gross_exposure) for v in self.valuations or ()])


class Outcomes(Sequence[CycleOutcome]):
    """The outcomes of a run's cycles in order: stepped ones as objects, quiet stretches as blocks."""

    def __init__(self) -> None:
        self._parts: list[CycleOutcome | QuietBlock] = []
        self._ends: list[int] = []  # cumulative length after each part
        self._size = 0

    def append(self, outcome: CycleOutcome) -> None:
        """Keep a stepped cycle's outcome."""
        self._parts.append(outcome)
        self._size += 1
        self._ends.append(self._size)

    def add_quiet(self, block: QuietBlock) -> None:
        """Keep a stretch of quiet cycles."""
        if len(block) == 0:
            return
        self._parts.append(block)
        self._size += len(block)
        self._ends.append(self._size)

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, i: int) -> CycleOutcome: ...

    @overload
    def __getitem__(self, i: slice) -> list[CycleOutcome]: ...

    def __getitem__(self, i: int | slice) -> CycleOutcome | list[CycleOutcome]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._size))]
        if i < 0:
            i += self._size
        if not 0 <= i < self._size:
            raise IndexError("outcome index out of range")
        p = bisect.bisect_right(self._ends, i)
        part = self._parts[p]
        if isinstance(part, CycleOutcome):
            return part
        return part.outcome(i - (self._ends[p] - len(part)))

    def __iter__(self) -> Iterator[CycleOutcome]:
        for part in self._parts:
            if isinstance(part, CycleOutcome):
                yield part
            else:
                for r in range(len(part)):
                    yield part.outcome(r)

    def equities(self) -> Array:
        """float(valuation.equity) of every cycle, without building the outcomes."""
        return self._curve(lambda b: b.equities(), lambda o: float(o.valuation.equity))

    def gross(self) -> Array:
        """float(valuation.gross_exposure) of every cycle, without building the outcomes."""
        return self._curve(lambda b: b.gross(), lambda o: float(o.valuation.gross_exposure))

    def stepped(self) -> Iterator[CycleOutcome]:
        """The outcomes of the cycles that were stepped (every fill is in one of them), in order."""
        return (part for part in self._parts if isinstance(part, CycleOutcome))

    def fills(self) -> tuple[Fill, ...]:
        """Every fill in cycle order."""
        return tuple(f for part in self._parts if isinstance(part, CycleOutcome) for f in part.fills)

    def cycles(self) -> IntArray:
        """The cycle index of every outcome."""
        out: list[IntArray] = []
        for part in self._parts:
            if isinstance(part, CycleOutcome):
                out.append(np.array([part.k], dtype=np.int64))
            else:
                out.append(np.arange(part.start, part.start + len(part), dtype=np.int64))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def _curve(self, block: Callable[[QuietBlock], Array], single: Callable[[CycleOutcome], float]) -> Array:
        """One float per cycle: stepped outcomes one by one, quiet blocks in bulk (runs of stepped ones batched)."""
        pieces: list[Array] = []
        run: list[float] = []
        for part in self._parts:
            if isinstance(part, CycleOutcome):
                run.append(single(part))
                continue
            if run:
                pieces.append(np.array(run))
                run = []
            pieces.append(np.asarray(block(part), dtype=np.float64))
        if run:
            pieces.append(np.array(run))
        return np.concatenate(pieces) if pieces else np.zeros(0)
