"""What one board member says at a cycle: the contract between models, advisors, the ensemble and the monitor.

Every member (LSTM, GRU, PPO agent, trend baseline, LLM advisor) turns what is known at cycle k into an
`Opinion` over all N symbols of the universe. Probabilities are per symbol; NaN means "no view" (warming up,
an advisor that has not answered, a symbol the member does not cover), and such a member is simply absent
from that symbol's vote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from papertrader.core.arrays import Array
from papertrader.features.view import FeatureView

Timeframe = Literal["short", "trend", "agent", "advisor", "baseline"]


@dataclass(frozen=True, slots=True)
class Opinion:
    """One member's view of every symbol: P(up), P(down) over its horizon, an exit request, and why."""

    member: str
    timeframe: Timeframe
    p_up: Array
    p_down: Array
    exit: npt.NDArray[np.bool_]
    reason: Callable[[int], str]

    def __post_init__(self) -> None:
        n = self.p_up.shape[0]
        if self.p_up.shape != (n,) or self.p_down.shape != (n,) or self.exit.shape != (n,):
            raise ValueError("p_up, p_down and exit must have one entry per symbol")
        if self.exit.dtype != np.bool_:
            raise ValueError("exit must be a boolean array")
        known = np.isfinite(self.p_up) & np.isfinite(self.p_down)
        if (self.p_up[known] < 0).any() or (self.p_down[known] < 0).any():
            raise ValueError("probabilities must be non-negative")
        if (self.p_up[known] + self.p_down[known] > 1.0 + 1e-6).any():
            raise ValueError("P(up) + P(down) must not exceed 1")

    @property
    def has_view(self) -> npt.NDArray[np.bool_]:
        """True where the member gave probabilities for the symbol."""
        return np.isfinite(self.p_up) & np.isfinite(self.p_down)

    @classmethod
    def silent(cls, member: str, timeframe: Timeframe, n: int, why: str) -> Opinion:
        """No view on any symbol (warming up, failed, not answered yet)."""
        nan = np.full(n, np.nan)
        return cls(member, timeframe, nan, nan.copy(), np.zeros(n, dtype=bool), lambda _i: why)


class Member(Protocol):
    """A board member the ensemble can poll once per cycle; it must only read the view up to its cycle."""

    name: str
    timeframe: Timeframe

    def required_features(self) -> tuple[str, ...]:
        """Feature names the member reads through the view."""
        ...

    def opine(self, ts: datetime, view: FeatureView) -> Opinion:
        """The member's opinion at the view's cycle; it may raise, and then it is absent from the vote."""
        ...
