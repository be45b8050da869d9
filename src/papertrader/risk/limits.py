"""Loss limits: the daily loss limit (reset at the session boundary) and the drawdown kill switch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(slots=True)
class DrawdownKillSwitch:
    """Fires on the first observation more than `threshold` below the running peak, then stays fired."""

    threshold: float
    peak: float = 0.0
    fired_at_drawdown: float | None = None

    def observe(self, equity: float) -> bool:
        """Update the peak; True exactly once, on the observation that crosses the threshold."""
        self.peak = max(self.peak, equity)
        if self.fired_at_drawdown is not None or self.peak <= 0:
            return False
        drawdown = equity / self.peak - 1.0
        if drawdown < -self.threshold:
            self.fired_at_drawdown = drawdown
            return True
        return False

    @property
    def fired(self) -> bool:
        """Whether the switch has fired (a reset is an explicit operator act)."""
        return self.fired_at_drawdown is not None

    def reset(self, equity: float) -> None:
        """An authenticated operator reset: the current equity becomes the new peak."""
        self.fired_at_drawdown = None
        self.peak = equity


@dataclass(slots=True)
class DailyLossLimit:
    """No new entries for the rest of a session once equity falls `limit` below the session's start."""

    limit: float
    session: date | None = None
    start_equity: float = 0.0
    last_equity: float = 0.0
    hit_at_loss: float | None = None

    def observe(self, session: date, equity: float) -> bool:
        """Track the session; True exactly once per session, when the limit is first crossed."""
        if session != self.session:
            self.session = session
            self.start_equity = self.last_equity if self.last_equity > 0 else equity
            self.hit_at_loss = None
        self.last_equity = equity
        if self.hit_at_loss is not None or self.start_equity <= 0:
            return False
        loss = equity / self.start_equity - 1.0
        if loss < -self.limit:
            self.hit_at_loss = loss
            return True
        return False

    @property
    def hit(self) -> bool:
        """Whether new entries are blocked for the current session."""
        return self.hit_at_loss is not None
