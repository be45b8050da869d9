"""The risk engine: sizes target weights into whole shares and enforces every limit; a veto is an event.

Order of rules, each applied to target weights before they become shares: Kelly sizing (when the
decision carries calibrated probabilities), volatility targeting, no-short, per-position cap, capital
buckets and cash reserve, sector caps, gross exposure; then the daily loss limit blocks new entries,
the per-order cap trims size, and tiny orders are dropped. Exits are never blocked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import numpy.typing as npt

from papertrader.config.settings import RiskSettings
from papertrader.core.events import Event
from papertrader.risk.buckets import Bucket, cap_groups, classify
from papertrader.risk.limits import DailyLossLimit, DrawdownKillSwitch
from papertrader.risk.sizing import Array, kelly_weights, vol_target_scale

_EPS = 1e-9


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


@dataclass(frozen=True, slots=True)
class RiskInputs:
    """Optional evidence for sizing: calibrated win probability and payoff ratio, volatility, per symbol."""

    p_win: Array | None = None
    payoff: Array | None = None
    volatility: Array | None = None


class RiskEngine:
    """Stateful across cycles only for the loss limits; sizing itself is a pure function of its inputs."""

    def __init__(self, symbols: Sequence[str], settings: RiskSettings, rebalance_band: float) -> None:
        self.symbols = tuple(symbols)
        self.settings = settings
        self.rebalance_band = rebalance_band
        self.kill_switch = DrawdownKillSwitch(settings.max_drawdown)
        self.daily = DailyLossLimit(settings.daily_loss_limit)
        names = sorted(set(settings.sectors.values()))
        self._sector = np.array([names.index(settings.sectors[s]) if s in settings.sectors else -1 for s in symbols])
        self._sector_caps = {i: settings.max_sector_fraction for i in range(len(names))}

    def observe(self, at: datetime, session: date, equity: float) -> list[Event]:
        """Update the loss limits at a cycle's close; events for a limit crossed on this cycle."""
        events = []
        if self.kill_switch.observe(equity):
            events.append(
                Event(
                    at,
                    "risk.kill_switch",
                    {
                        "rule": "max_drawdown",
                        "drawdown": self.kill_switch.fired_at_drawdown,
                        "limit": self.settings.max_drawdown,
                        "peak_equity": self.kill_switch.peak,
                        "equity": equity,
                    },
                )
            )
        if self.daily.observe(session, equity):
            events.append(
                Event(
                    at,
                    "risk.daily_loss_limit",
                    {
                        "rule": "daily_loss_limit",
                        "loss": self.daily.hit_at_loss,
                        "limit": self.settings.daily_loss_limit,
                        "start_of_day_equity": self.daily.start_equity,
                        "flatten": self.settings.flatten_on_daily_limit,
                    },
                )
            )
        return events

    def _event(self, plan: RiskPlan, at: datetime, kind: str, i: int, rule: str, **numbers: float) -> None:
        symbol = self.symbols[i] if i >= 0 else "*"
        plan.events.append(Event(at, kind, {"symbol": symbol, "rule": rule, **numbers}))

    def limit_weights(self, target: Array, prices: Array, inputs: RiskInputs) -> tuple[Array, list[str | None]]:
        """Apply sizing and every exposure limit to target weights; returns them and the binding rule per symbol."""
        s = self.settings
        n = len(self.symbols)
        rule: list[str | None] = [None] * n
        w = np.where(np.isfinite(prices) & (prices > 0), target, 0.0)

        def bind(new: Array, name: str) -> Array:
            for i in np.flatnonzero(np.abs(new) < np.abs(w) - _EPS):
                rule[i] = rule[i] or name
            return new

        if inputs.p_win is not None and inputs.payoff is not None:
            w = kelly_weights(inputs.p_win, inputs.payoff, np.sign(w), s.kelly_fraction, s.max_position_fraction)
        if s.vol_target is not None and inputs.volatility is not None:
            w = bind(w * vol_target_scale(inputs.volatility, s.vol_target), "vol_target")
        if not s.allow_short:
            w = bind(np.maximum(w, 0.0), "no_short")
        w = bind(np.clip(w, -s.max_position_fraction, s.max_position_fraction), "max_position_fraction")
        buckets = classify(self.symbols, prices, set(s.etfs), s.penny_below)
        caps = {int(Bucket.CORE): s.core_cap, int(Bucket.ETF): s.etf_cap, int(Bucket.SPECULATIVE): s.speculative_cap}
        w = bind(cap_groups(w, buckets, caps)[0], "bucket_cap")
        if self._sector_caps:
            w = bind(cap_groups(w, self._sector, self._sector_caps)[0], "max_sector_fraction")
        gross_cap = min(s.max_gross_exposure, 1.0 - s.cash_reserve) if not s.allow_short else s.max_gross_exposure
        gross = float(np.abs(w).sum())
        if gross > gross_cap:
            w = bind(
                w * (gross_cap / gross), "max_gross_exposure" if gross_cap < 1 - s.cash_reserve else "cash_reserve"
            )
        return w, rule

    def plan(
        self,
        at: datetime,
        target_weights: Array,
        prices: Array,
        holdings: Array,
        equity: float,
        inputs: RiskInputs | None = None,
    ) -> RiskPlan:
        """Orders that move holdings (including pending orders) toward the limited targets."""
        plan = RiskPlan()
        s = self.settings
        if equity <= 0:
            return plan
        weights, rule = self.limit_weights(target_weights, prices, inputs or RiskInputs())
        valid = np.isfinite(prices) & (prices > 0)
        safe = np.where(valid, prices, np.inf)
        current = holdings * np.where(valid, prices, 0.0) / equity
        if self.daily.hit:
            if s.flatten_on_daily_limit:
                weights = np.zeros_like(weights)
            else:
                entering = (np.abs(weights) > np.abs(current) + _EPS) & (np.sign(weights) != -np.sign(current))
                for i in np.flatnonzero(entering & ~np.isclose(weights, current)):
                    rule[i] = "daily_loss_limit"
                weights = np.where(entering, current, weights)
        target_qty = np.trunc(weights * equity / safe)
        delta = target_qty - holdings
        opening = (holdings == 0) & (target_qty != 0)
        closing = (target_qty == 0) & (holdings != 0)
        drifted = np.abs(current - weights) > self.rebalance_band
        trade = (delta != 0) & (opening | closing | drifted)
        # a position left alone (inside the band) must not, with the new trades, break a cap
        projected = np.where(trade, target_qty * np.where(valid, prices, 0.0) / equity, current)
        trade |= (delta != 0) & self._over_limits(projected, weights, prices)
        for i in np.flatnonzero(trade):
            qty = int(delta[i])
            max_qty = int(s.max_order_fraction * equity / float(prices[i])) if valid[i] else 0
            if abs(qty) > max_qty and not closing[i]:
                self._event(
                    plan, at, "order.reduced", int(i), "max_order_fraction", requested=abs(qty), allowed=max_qty
                )
                qty = int(np.sign(qty)) * max_qty
            notional = abs(qty * float(prices[i])) if valid[i] else 0.0
            if qty == 0 or (notional < s.min_order_notional and not closing[i]):
                self._event(
                    plan,
                    at,
                    "order.denied",
                    int(i),
                    "min_order_notional",
                    notional=notional,
                    limit=s.min_order_notional,
                )
                continue
            if rule[i] is not None:
                self._event(
                    plan,
                    at,
                    "order.reduced",
                    int(i),
                    str(rule[i]),
                    requested_weight=float(target_weights[i]),
                    allowed_weight=float(weights[i]),
                )
            plan.intents.append(OrderIntent(int(i), self.symbols[i], qty, int(holdings[i]) + qty, float(weights[i])))
        for j in range(len(self.symbols)):
            blocked = rule[j] in ("no_short", "daily_loss_limit") and not trade[j]
            if blocked and abs(float(target_weights[j]) - float(current[j])) > self.rebalance_band:
                self._event(plan, at, "order.denied", j, str(rule[j]), requested_weight=float(target_weights[j]))
        return plan

    def _over_limits(self, projected: Array, allowed: Array, prices: Array) -> npt.NDArray[np.bool_]:
        """Symbols whose drift carried them (or their group) past a cap by more than the tolerance: trim them."""
        s = self.settings
        slack = s.limit_tolerance + _EPS
        above = np.abs(projected) > np.abs(allowed) + _EPS
        over = above & (np.abs(projected) > s.max_position_fraction + slack)
        gross_cap = min(s.max_gross_exposure, 1.0 - s.cash_reserve) if not s.allow_short else s.max_gross_exposure
        if float(np.abs(projected).sum()) > gross_cap + slack:
            over |= above
        buckets = classify(self.symbols, prices, set(s.etfs), s.penny_below)
        caps = {int(Bucket.CORE): s.core_cap, int(Bucket.ETF): s.etf_cap, int(Bucket.SPECULATIVE): s.speculative_cap}
        groups = [(buckets, caps), (self._sector, self._sector_caps)]
        for labels, group_caps in groups:
            for group, cap in group_caps.items():
                members = labels == group
                if float(np.abs(projected[members]).sum()) > cap + slack:
                    over |= above & members
        return over
