"""Fixed-fraction sizing with per-position and gross exposure limits; every veto is an event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from papertrader.config.settings import RiskSettings
from papertrader.core.events import Event
from papertrader.features.technical import Array


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """A sized order the broker should receive: signed shares of one symbol."""

    index: int
    symbol: str
    qty: int
    target_qty: int
    target_weight: float


@dataclass(slots=True)
class RiskPlan:
    """The orders that passed and the events explaining what was cut or denied."""

    intents: list[OrderIntent] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


class RiskEngine:
    """Sizes target weights into whole shares and enforces the limits in RiskSettings."""

    def __init__(self, symbols: Sequence[str], settings: RiskSettings, rebalance_band: float) -> None:
        self.symbols = tuple(symbols)
        self.settings = settings
        self.rebalance_band = rebalance_band

    def _deny(self, plan: RiskPlan, at: datetime, i: int, rule: str, **numbers: float) -> None:
        plan.events.append(Event(at, "order.denied", {"symbol": self.symbols[i], "rule": rule, **numbers}))

    def plan(
        self,
        at: datetime,
        target_weights: Array,
        prices: Array,
        holdings: Array,
        equity: float,
    ) -> RiskPlan:
        """Orders that move holdings (including pending orders) toward the limited targets."""
        plan = RiskPlan()
        s = self.settings
        weights = np.where(np.isfinite(prices), target_weights, 0.0)
        if not s.allow_short:
            for i in np.flatnonzero(weights < 0):
                self._deny(plan, at, int(i), "no_short", requested_weight=float(weights[i]))
            weights = np.maximum(weights, 0.0)
        requested = weights.copy()
        weights = np.clip(weights, -s.max_position_fraction, s.max_position_fraction)
        gross = float(np.abs(weights).sum())
        if gross > s.max_gross_exposure:
            weights = weights * (s.max_gross_exposure / gross)
        if equity <= 0:
            return plan
        safe_prices = np.where(np.isfinite(prices) & (prices > 0), prices, np.inf)
        target_qty = np.trunc(weights * equity / safe_prices)
        current_weight = holdings * np.where(np.isfinite(safe_prices), safe_prices, 0.0) / equity
        delta = target_qty - holdings
        opening = (holdings == 0) & (target_qty != 0)
        closing = (target_qty == 0) & (holdings != 0)
        drifted = np.abs(current_weight - weights) > self.rebalance_band
        trade = (delta != 0) & (opening | closing | drifted)
        for i in np.flatnonzero(trade):
            notional = abs(float(delta[i]) * float(prices[i]))
            if notional < s.min_order_notional and not closing[i]:
                self._deny(plan, at, int(i), "min_order_notional", notional=notional, limit=s.min_order_notional)
                continue
            if abs(requested[i]) > abs(weights[i]) + 1e-12:
                rule = "max_position_fraction" if abs(requested[i]) > s.max_position_fraction else "max_gross_exposure"
                plan.events.append(
                    Event(
                        at,
                        "order.reduced",
                        {
                            "symbol": self.symbols[i],
                            "rule": rule,
                            "requested_weight": float(requested[i]),
                            "allowed_weight": float(weights[i]),
                        },
                    )
                )
            plan.intents.append(
                OrderIntent(int(i), self.symbols[i], int(delta[i]), int(target_qty[i]), float(weights[i]))
            )
        return plan
