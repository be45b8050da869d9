"""The interface every strategy and model ensemble implements for the cycle."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import numpy as np

from papertrader.core.arrays import Array
from papertrader.domain.events import DomainEvent
from papertrader.features.view import FeatureView


@dataclass(frozen=True, slots=True)
class Decision:
    """Target weights of equity per symbol (N,), confidence in [0, 1], and a reason on demand.

    `explain(i)` is lazy: the engine asks only for the symbols whose target changed, which keeps
    wide universes fast.
    """

    weights: Array
    confidence: Array
    explain: Callable[[int], str]
    p_win: Array | None = None
    payoff: Array | None = None
    #: per symbol, each member's vote ({"member", "timeframe", "p_up", "p_down", "exit", "weight", "reason"}),
    #: lazy like `explain`; None for single-model strategies. Stored in the "signal" event payload.
    votes: Callable[[int], list[dict[str, Any]]] | None = None
    #: events the strategy wants published with the cycle (e.g. the performance monitor's monitor.* events)
    events: tuple[DomainEvent, ...] = ()

    def __post_init__(self) -> None:
        n = self.weights.shape[0]
        if self.confidence.shape != (n,):
            raise ValueError("weights and confidence must have one entry per symbol")
        if not (np.abs(self.weights) <= 1.0).all():  # NaN compares False, so this also refuses NaN and inf
            raise ValueError("target weights must be finite and within [-1, 1]")


class Strategy(Protocol):
    """Anything that maps what is known at a cycle to target weights."""

    name: str

    def required_features(self) -> tuple[str, ...]:
        """Feature names the strategy reads, so the engine can check they exist."""
        ...

    def decide(self, ts: datetime, view: FeatureView) -> Decision:
        """Target weights for every symbol, given only data up to the current cycle."""
        ...


# Optional hooks: a strategy may implement any of them; the engine asks with isinstance, never by name.


@runtime_checkable
class Replayable(Protocol):
    """A strategy with memory: on resume it decides every committed cycle again, in order (the board does)."""

    def replay(self, cycles: Iterable[tuple[datetime, FeatureView]]) -> Decision | None:
        """Decide the cycles again to rebuild internal state; the last decision (None when there were none)."""
        ...


@runtime_checkable
class Preparable(Protocol):
    """A strategy (or member) that precomputes, between bars, what the next cycle already determines.

    A live run calls `prepare(view at k)` after cycle k is committed; the decision at k + 1 must equal the one
    made without it (recurrent members keep the state over their window's known first steps).
    """

    def prepare(self, view: FeatureView) -> None:
        """Precompute from rows up to view.k for the next cycle."""


@runtime_checkable
class PointInTime(Protocol):
    """A strategy whose weights are a pure function of past bars: the whole target panel at once (sparse stepping).

    Row k of `decide_all(features)` must equal `decide(ts_k, FeatureView(features, k)).weights`, read only rows
    <= k, and the strategy's decisions must carry no probabilities, payoffs or events; the engine then steps
    only the cycles where something can happen (engine/sparse.py) and the run stays identical.
    """

    def decide_all(self, features: Mapping[str, Array]) -> Array:
        """(T, N) target weights, row k decided at the close of bar k from rows <= k only."""
        ...


@runtime_checkable
class ReadsOnlyRequired(Protocol):
    """A strategy (or member) whose `required_features()` names every panel it reads, so a run builds only those.

    Without it a plug-in sees every built-in panel (it may read one it did not name), as it always has; the
    built-in strategies and members read only what they name. Each built panel costs 8 bytes per symbol-bar.
    """

    def reads_only_required(self) -> bool:
        """True when no panel outside `required_features()` is read (False: build every built-in panel)."""
        ...


@runtime_checkable
class Closable(Protocol):
    """A strategy (or member) that holds resources (threads, HTTP clients) to release when its run ends."""

    def close(self) -> None:
        """Release what it holds; called once, when the run ends, whatever its outcome."""
        ...


@runtime_checkable
class MemberStatusReporter(Protocol):
    """A strategy whose members report their own health (the board's advisors), shown on the health board."""

    def member_status(self) -> dict[str, tuple[str, str]]:
        """Member name -> (status, message), status one of the health board's values (ok, degraded, down)."""
        ...


@runtime_checkable
class HealthReporter(Protocol):
    """A strategy that reports per-member health (which model version serves, fallbacks, last failure)."""

    def health(self) -> dict[str, Any]:
        """Member name -> health entry (a dict; model members carry "active", "requested", "status")."""
        ...
