"""The interface every strategy and model ensemble implements for the cycle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from papertrader.domain.events import DomainEvent
from papertrader.features.technical import Array
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
