"""The risk engine: sizes target weights into whole shares and enforces every limit; a veto is an event.

Order of rules, each applied to target weights before they become shares: Kelly sizing (when the
decision carries calibrated probabilities), volatility targeting, no-short, per-position cap, capital
buckets and cash reserve, sector caps, gross exposure, and the drawdown budget (when the caller passes
the budget: the target's bad-bar loss must fit the room left above the drawdown floor, see
`papertrader.risk.drawdown`); then the daily loss limit blocks new entries,
the per-order cap trims size, and tiny orders are dropped. Exits are never blocked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import numpy.typing as npt

from papertrader.config.settings import RiskSettings
from papertrader.core.arrays import Array, BoolArray
from papertrader.domain.events import (
    DailyLossLimitHit,
    DomainEvent,
    KillSwitchFired,
    OrderDenied,
    OrderReduced,
    OrderResized,
    RiskLimitHit,
)
from papertrader.risk.buckets import Bucket, cap_groups
from papertrader.risk.drawdown import UNKNOWN_BAR_VOL, bar_sigma, budget_scale
from papertrader.risk.limits import DailyLossLimit, DrawdownKillSwitch
from papertrader.risk.sizing import kelly_weights, vol_target_scale

_EPS = 1e-9
#: `ndarray.sum` and a nonzero test without numpy's Python-level wrappers (the same reductions: a sum's pairwise
#: order and bits are those of `.sum()`; on a bool mask `_any` is `count_nonzero(...) > 0`)
_total = np.add.reduce
_any = np.logical_or.reduce


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
    events: list[DomainEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Terms:
    """Per-symbol quantities a plan is cut from: limited weights, binding rules, and what must trade.

    Arrays for a universe (`_emit` reads only the symbols in `trades` and those a rule binds, so the arrays
    are never turned into lists), one-element lists for a single symbol.
    """

    weights: Array | list[float]
    rule: list[str | None]
    current: Array | list[float]
    delta: Array | list[float]
    trade: BoolArray | list[bool]
    closing: BoolArray | list[bool]
    valid: BoolArray | list[bool]
    trades: list[int]  # the symbols that trade, in universe order


def _budget_cut(gross: float, bad_bar: float, budget: float) -> float:
    """Gross weight a book must shed for its bad-bar loss to fit the drawdown budget (0 when it fits)."""
    if bad_bar <= budget:
        return 0.0
    return gross if budget <= 0 else gross * (1.0 - budget / bad_bar)


def _sign(x: float) -> float:
    """numpy.sign for one float (0.0 for zero)."""
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


@dataclass(frozen=True, slots=True)
class RiskInputs:
    """Optional evidence for sizing: calibrated win probability and payoff ratio, volatility, per symbol.

    budget: equity above the drawdown floor as a fraction of equity (`drawdown.budget_fraction`); None
    leaves the drawdown budget out of sizing. bad_bar: `RiskEngine.bad_bar(volatility)` when the caller
    computed it for the whole run at once (the engine does); None: computed here from `volatility`.
    """

    p_win: Array | None = None
    payoff: Array | None = None
    volatility: Array | None = None
    budget: float | None = None
    bad_bar: Array | None = None


class RiskEngine:
    """Stateful across cycles only for the loss limits; sizing itself is a pure function of its inputs."""

    def __init__(
        self, symbols: Sequence[str], settings: RiskSettings, rebalance_band: float, periods_per_year: float = 252.0
    ) -> None:
        self.symbols = tuple(symbols)
        self.settings = settings
        self.rebalance_band = rebalance_band
        self.periods_per_year = periods_per_year
        self._exit_cost = settings.exit_cost_bps / 1e4
        self.shortcuts = True  # the fast paths of `plan`; False forces the array path (tests compare the two)
        self.kill_switch = DrawdownKillSwitch(settings.max_drawdown)
        self.daily = DailyLossLimit(settings.daily_loss_limit)
        names = sorted(set(settings.sectors.values()))
        self._sector = np.array([names.index(settings.sectors[s]) if s in settings.sectors else -1 for s in symbols])
        # only sectors with a member here: an empty group's gross is 0 and never binds
        self._sector_caps = {i: settings.max_sector_fraction for i in range(len(names)) if (self._sector == i).any()}
        etfs = set(settings.etfs)
        self._etf = np.array([symbol in etfs for symbol in self.symbols], dtype=bool)
        # the wide fast path's fixed groups: buckets when no price is a penny price, and the sectors
        self._base_buckets = self._buckets(np.full(len(self.symbols), np.inf))
        self._base_groups = self._groups(self._base_buckets, self._present_caps(self._base_buckets))
        self._sector_groups = self._groups(self._sector, self._sector_caps)

    def observe(self, at: datetime, session: date, equity: float) -> list[DomainEvent]:
        """Update the loss limits at a cycle's close; events for a limit crossed on this cycle."""
        events: list[DomainEvent] = []
        if self.kill_switch.observe(equity):
            events.append(
                KillSwitchFired(
                    at,
                    rule="max_drawdown",
                    drawdown=self.kill_switch.fired_at_drawdown,
                    limit=self.settings.max_drawdown,
                    peak_equity=self.kill_switch.peak,
                    equity=equity,
                )
            )
        if self.daily.observe(session, equity):
            events.append(
                DailyLossLimitHit(
                    at,
                    rule="daily_loss_limit",
                    loss=self.daily.hit_at_loss,
                    limit=self.settings.daily_loss_limit,
                    start_of_day_equity=self.daily.start_equity,
                    flatten=self.settings.flatten_on_daily_limit,
                )
            )
        return events

    def _event(
        self, plan: RiskPlan, at: datetime, kind: type[RiskLimitHit], i: int, rule: str, **numbers: float
    ) -> None:
        symbol = self.symbols[i] if i >= 0 else "*"
        plan.events.append(kind(at, symbol, rule, numbers))

    def _daily_hold(self, weights: Array, current: Array, rule: list[str | None]) -> Array:
        """After the daily loss limit: flatten (the setting) or hold every entry and increase at its current weight."""
        if self.settings.flatten_on_daily_limit:
            return np.zeros_like(weights)
        entering = (np.abs(weights) > np.abs(current) + _EPS) & (np.sign(weights) != -np.sign(current))
        for i in np.flatnonzero(entering & ~np.isclose(weights, current)):
            rule[i] = "daily_loss_limit"
        return np.where(entering, current, weights)

    def limit_weights(
        self,
        target: Array,
        prices: Array,
        inputs: RiskInputs,
        buckets: npt.NDArray[np.int_] | None = None,
        sigma: Array | None = None,
    ) -> tuple[Array, list[str | None]]:
        """Apply sizing and every exposure limit to target weights; returns them and the binding rule per symbol.

        buckets: `_buckets(prices)` and sigma: `_sigma(inputs)` when the caller has them already (plan computes
        each once per cycle).
        """
        s = self.settings
        n = len(self.symbols)
        rule: list[str | None] = [None] * n
        w = np.where(np.isfinite(prices) & (prices > 0), target, 0.0)

        def bind(new: Array, name: str) -> Array:
            cut = np.abs(new) < np.abs(w) - _EPS
            if cut.any():
                for i in np.flatnonzero(cut):
                    rule[i] = rule[i] or name
            return new

        if inputs.p_win is not None and inputs.payoff is not None:
            w = kelly_weights(inputs.p_win, inputs.payoff, np.sign(w), s.kelly_fraction, s.max_position_fraction)
        if s.vol_target is not None and inputs.volatility is not None:
            w = bind(w * vol_target_scale(inputs.volatility, s.vol_target), "vol_target")
        if not s.allow_short:
            w = bind(np.maximum(w, 0.0), "no_short")
        w = bind(np.clip(w, -s.max_position_fraction, s.max_position_fraction), "max_position_fraction")
        buckets = self._buckets(prices) if buckets is None else buckets
        w = bind(cap_groups(w, buckets, self._present_caps(buckets))[0], "bucket_cap")
        if self._sector_caps:
            w = bind(cap_groups(w, self._sector, self._sector_caps)[0], "max_sector_fraction")
        gross_cap = min(s.max_gross_exposure, 1.0 - s.cash_reserve) if not s.allow_short else s.max_gross_exposure
        gross = float(np.abs(w).sum())
        if gross > gross_cap:
            w = bind(
                w * (gross_cap / gross), "max_gross_exposure" if gross_cap < 1 - s.cash_reserve else "cash_reserve"
            )
        if inputs.budget is not None:
            sigma = self._sigma(inputs) if sigma is None else sigma
            scale = budget_scale(w, sigma, inputs.budget, s.budget_z, s.gap_allowance, self._exit_cost)
            if scale < 1.0:
                w = bind(w * scale, "drawdown_budget")
        return w, rule

    def bad_bar(self, volatility: Array | None) -> Array:
        """Bad-bar loss per unit of weight, `z * bar sigma + gap allowance + exit cost`, for one cycle's volatility
        or a whole (time, symbol) panel at once (elementwise: each row is what that cycle's plan computes)."""
        s = self.settings
        sigma = self._sigma(RiskInputs(volatility=volatility))
        return s.budget_z * sigma + s.gap_allowance + self._exit_cost

    def _sigma(self, inputs: RiskInputs) -> Array:
        """One-bar volatility per symbol for the drawdown budget (UNKNOWN_BAR_VOL without an estimate)."""
        if inputs.volatility is None:
            return np.full(len(self.symbols), UNKNOWN_BAR_VOL)
        return bar_sigma(inputs.volatility, self.periods_per_year)

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
        if equity <= 0:
            return plan
        if self.shortcuts and not _any(target_weights) and not _any(holdings):
            return plan  # nothing held or pending and nothing wanted: no rule can order or deny anything
        inputs = inputs or RiskInputs()
        if self.shortcuts and len(self.symbols) == 1 and (inputs.p_win is None or inputs.payoff is None):
            terms = self._terms_one(target_weights, prices, holdings, equity, inputs)
        elif self.shortcuts:
            terms = self._terms_wide(target_weights, prices, holdings, equity, inputs)
        else:
            terms = self._terms(target_weights, prices, holdings, equity, inputs)
        self._emit(plan, at, target_weights, prices, holdings, equity, terms)
        return plan

    def _terms(
        self, target_weights: Array, prices: Array, holdings: Array, equity: float, inputs: RiskInputs
    ) -> _Terms:
        """The per-symbol quantities the orders follow from, computed with arrays (any universe)."""
        buckets = self._buckets(prices)
        sigma = self._sigma(inputs) if inputs.budget is not None else None
        weights, rule = self.limit_weights(target_weights, prices, inputs, buckets, sigma)
        valid = np.isfinite(prices) & (prices > 0)
        safe = np.where(valid, prices, np.inf)
        current = holdings * np.where(valid, prices, 0.0) / equity
        if self.daily.hit:
            weights = self._daily_hold(weights, current, rule)
        target_qty = np.trunc(weights * equity / safe)
        delta = target_qty - holdings
        opening = (holdings == 0) & (target_qty != 0)
        closing = (target_qty == 0) & (holdings != 0)
        drifted = np.abs(current - weights) > self.rebalance_band
        trade = (delta != 0) & (opening | closing | drifted)
        # a position left alone (inside the band) must not, with the new trades, break a cap
        left = (delta != 0) & ~trade  # only these can a cap broken by drift add to the trades
        if left.any():
            projected = np.where(trade, target_qty * np.where(valid, prices, 0.0) / equity, current)
            trade |= left & self._over_limits(projected, weights, prices, inputs, buckets, sigma)
        return _Terms(weights, rule, current, delta, trade, closing, valid, np.flatnonzero(trade).tolist())

    def _groups(
        self, labels: npt.NDArray[np.int_], caps: dict[int, float]
    ) -> list[tuple[npt.NDArray[np.bool_] | None, float]]:
        """Each capped group's member mask (None: every symbol is a member) and its cap, in `caps` order."""
        out: list[tuple[npt.NDArray[np.bool_] | None, float]] = []
        for group, cap in caps.items():
            members = labels == group
            out.append((None if bool(members.all()) else members, cap))
        return out

    def _terms_wide(
        self, target_weights: Array, prices: Array, holdings: Array, equity: float, inputs: RiskInputs
    ) -> _Terms:
        """`_terms` with its numpy passes fused: each absolute value, mask and bad-bar factor computed once.

        Every float operation is the one `limit_weights`, `_terms` and `_over_limits` do, on arrays of the
        same length in the same order (a group's gross is summed over its members, as `cap_groups` sums it),
        so the result is identical to the bit; a property test and the real-bar runs hold the two together.
        """
        s = self.settings
        rule: list[str | None] = [None] * len(self.symbols)
        valid = np.isfinite(prices) & (prices > 0)
        w = np.where(valid, target_weights, 0.0)
        aw = np.abs(w)

        def bind(new: Array, name: str) -> Array:
            nonlocal aw
            fresh = np.abs(new)
            cut = fresh < aw - _EPS
            if _any(cut):
                for i in cut.nonzero()[0]:
                    rule[i] = rule[i] or name
            aw = fresh
            return new

        total: tuple[Array, float] | None = None  # the sum of `aw` while it is unchanged (a bind replaces it)

        def whole() -> float:
            nonlocal total
            if total is None or total[0] is not aw:
                total = (aw, float(_total(aw)))
            return total[1]

        def cap(groups: list[tuple[npt.NDArray[np.bool_] | None, float]], name: str) -> None:
            nonlocal w
            out = None
            for members, limit in groups:
                gross = whole() if members is None else float(_total(aw[members]))
                if gross > limit + 1e-12:
                    out = w.copy() if out is None else out
                    if members is None:
                        out *= limit / gross
                    else:
                        out[members] *= limit / gross
            if out is not None:
                w = bind(out, name)

        if inputs.p_win is not None and inputs.payoff is not None:
            w = kelly_weights(inputs.p_win, inputs.payoff, np.sign(w), s.kelly_fraction, s.max_position_fraction)
            aw = np.abs(w)
        if s.vol_target is not None and inputs.volatility is not None:
            w = bind(w * vol_target_scale(inputs.volatility, s.vol_target), "vol_target")
        # a rule that cannot cut anything leaves every weight and absolute value as it was (maximum and minimum
        # return one of their arguments), so it is skipped: no short to lift, no weight past the position cap
        if not s.allow_short:
            w = bind(np.maximum(w, 0.0), "no_short") if _any(w < 0.0) else np.maximum(w, 0.0)
        if _any(aw > s.max_position_fraction):
            w = bind(
                np.minimum(np.maximum(w, -s.max_position_fraction), s.max_position_fraction), "max_position_fraction"
            )
        if _any(prices < s.penny_below):  # a penny price (or -inf) moves a symbol out of its base bucket
            buckets = self._buckets(prices)
            bucket_groups = self._groups(buckets, self._present_caps(buckets))
        else:
            bucket_groups = self._base_groups
        cap(bucket_groups, "bucket_cap")
        if self._sector_caps:
            cap(self._sector_groups, "max_sector_fraction")
        gross_cap = self._gross_cap()
        gross = whole()
        if gross > gross_cap:
            w = bind(
                w * (gross_cap / gross), "max_gross_exposure" if gross_cap < 1 - s.cash_reserve else "cash_reserve"
            )
        factor = None
        if inputs.budget is not None:
            factor = inputs.bad_bar if inputs.bad_bar is not None else self.bad_bar(inputs.volatility)
            if inputs.budget <= 0:
                scale = 0.0
            else:
                loss = float(_total(aw * factor))
                scale = 1.0 if loss <= inputs.budget else inputs.budget / loss
            if scale < 1.0:
                w = bind(w * scale, "drawdown_budget")
        weights = w
        priced = np.where(valid, prices, 0.0)
        current = holdings * priced / equity
        if self.daily.hit:
            weights = self._daily_hold(weights, current, rule)
            aw = np.abs(weights)
        target_qty = np.trunc(weights * equity / np.where(valid, prices, np.inf))
        delta = target_qty - holdings
        flat_now = holdings == 0
        flat_next = target_qty == 0
        closing = flat_next & ~flat_now
        moves = delta != 0
        # opening | closing is "exactly one side flat"; drifted: past the rebalance band
        trade = moves & ((flat_now ^ flat_next) | (np.abs(current - weights) > self.rebalance_band))
        left = moves & ~trade  # only these can a cap broken by drift add to the trades
        if _any(left):
            projected = np.where(trade, target_qty * priced / equity, current)
            over = self._over_wide(projected, aw, factor, inputs.budget, bucket_groups)
            if over is not None:
                trade |= left & over
        return _Terms(weights, rule, current, delta, trade, closing, valid, trade.nonzero()[0].tolist())

    def _over_wide(
        self,
        projected: Array,
        allowed_abs: Array,
        factor: Array | None,
        budget: float | None,
        bucket_groups: list[tuple[npt.NDArray[np.bool_] | None, float]],
    ) -> npt.NDArray[np.bool_] | None:
        """`_over_limits` with the absolute values and the bad-bar factor passed in (None: nothing is over)."""
        s = self.settings
        slack = s.limit_tolerance + _EPS
        ap = np.abs(projected)
        above = ap > allowed_abs + _EPS
        if not _any(above):
            return None
        gross = float(_total(ap))
        if factor is not None and budget is not None and _budget_cut(gross, float(_total(ap * factor)), budget) > slack:
            return above
        over = above & (ap > s.max_position_fraction + slack)
        if gross > self._gross_cap() + slack:
            over |= above
        for groups in (bucket_groups, self._sector_groups):
            for members, limit in groups:
                if members is None:
                    if gross > limit + slack:
                        over |= above
                elif float(_total(ap[members])) > limit + slack:
                    over |= above & members
        return over

    def _terms_one(
        self, target_weights: Array, prices: Array, holdings: Array, equity: float, inputs: RiskInputs
    ) -> _Terms:
        """The same quantities for a one-symbol universe in plain floats: numpy's call cost dominates there.

        Every step mirrors `limit_weights`, `_terms` and `_over_limits` operation for operation (IEEE
        doubles either way, and a sum of one element is exact), so the result is identical; a property
        test holds the two paths together. Kelly sizing (p_win and payoff given) always takes the array path.
        """
        s = self.settings
        price = float(prices[0])
        held = float(holdings[0])
        valid = math.isfinite(price) and price > 0
        w = float(target_weights[0]) if valid else 0.0
        rule: str | None = None

        def bind(new: float, name: str) -> float:
            nonlocal rule
            if abs(new) < abs(w) - _EPS:
                rule = rule or name
            return new

        if s.vol_target is not None and inputs.volatility is not None:
            vol = float(inputs.volatility[0])
            scale = s.vol_target / vol if math.isfinite(vol) and vol > 0 else 1.0
            w = bind(w * min(max(scale, 0.0), 1.0), "vol_target")
        if not s.allow_short:
            w = bind(max(w, 0.0), "no_short")
        w = bind(min(max(w, -s.max_position_fraction), s.max_position_fraction), "max_position_fraction")
        bucket_cap = self._bucket_caps()[self._bucket_one(price)]
        if abs(w) > bucket_cap + 1e-12:
            w = bind(w * (bucket_cap / abs(w)), "bucket_cap")
        sector_cap = self._sector_caps.get(int(self._sector[0])) if self._sector_caps else None
        if sector_cap is not None and abs(w) > sector_cap + 1e-12:
            w = bind(w * (sector_cap / abs(w)), "max_sector_fraction")
        gross_cap = self._gross_cap()
        gross = abs(w)
        if gross > gross_cap:
            w = bind(
                w * (gross_cap / gross), "max_gross_exposure" if gross_cap < 1 - s.cash_reserve else "cash_reserve"
            )
        bad_bar = None
        if inputs.budget is not None:
            bad_bar = self._sigma_one(inputs) * s.budget_z + s.gap_allowance + self._exit_cost
            loss = abs(w) * bad_bar
            if inputs.budget <= 0 or loss > inputs.budget:
                scale = 0.0 if inputs.budget <= 0 else inputs.budget / loss
                w = bind(w * scale, "drawdown_budget")
        current = held * (price if valid else 0.0) / equity
        if self.daily.hit:
            if s.flatten_on_daily_limit:
                w = 0.0
            elif abs(w) > abs(current) + _EPS and _sign(w) != -_sign(current):
                if not abs(w - current) <= 1e-8 + 1e-5 * abs(current):  # numpy.isclose's tolerances
                    rule = "daily_loss_limit"
                w = current
        sized = w * equity / (price if valid else math.inf)
        target_qty = float(math.trunc(sized)) if math.isfinite(sized) else sized
        delta = target_qty - held
        opening = held == 0 and target_qty != 0
        closing = target_qty == 0 and held != 0
        drifted = abs(current - w) > self.rebalance_band
        trade = delta != 0 and (opening or closing or drifted)
        projected = target_qty * (price if valid else 0.0) / equity if trade else current
        if delta != 0 and not trade:
            trade = self._over_limit_one(projected, w, price)
            if not trade and bad_bar is not None and inputs.budget is not None and abs(projected) > abs(w) + _EPS:
                cut = _budget_cut(abs(projected), abs(projected) * bad_bar, inputs.budget)
                trade = cut > s.limit_tolerance + _EPS
        return _Terms([w], [rule], [current], [delta], [trade], [closing], [valid], [0] if trade else [])

    def _sigma_one(self, inputs: RiskInputs) -> float:
        """`_sigma` of the one symbol in plain floats (the same division and the same fallback)."""
        if inputs.volatility is None:
            return UNKNOWN_BAR_VOL
        sigma = float(inputs.volatility[0]) / math.sqrt(self.periods_per_year)
        return sigma if math.isfinite(sigma) and sigma >= 0 else UNKNOWN_BAR_VOL

    def _over_limit_one(self, projected: float, allowed: float, price: float) -> bool:
        """`_over_limits` for a one-symbol universe, in plain floats."""
        s = self.settings
        slack = s.limit_tolerance + _EPS
        if not abs(projected) > abs(allowed) + _EPS:
            return False
        if abs(projected) > s.max_position_fraction + slack or abs(projected) > self._gross_cap() + slack:
            return True
        if abs(projected) > self._bucket_caps()[self._bucket_one(price)] + slack:
            return True
        sector_cap = self._sector_caps.get(int(self._sector[0]))
        return sector_cap is not None and abs(projected) > sector_cap + slack

    def _buckets(self, prices: Array) -> npt.NDArray[np.int_]:
        """`classify` with the ETF list matched once at construction (it walked every symbol each call)."""
        penny = np.isfinite(prices) & (prices < self.settings.penny_below)
        return np.where(self._etf, int(Bucket.ETF), np.where(penny, int(Bucket.SPECULATIVE), int(Bucket.CORE)))

    def _bucket_one(self, price: float) -> int:
        """`classify` for the one symbol of a one-symbol universe."""
        if self.symbols[0] in self.settings.etfs:
            return int(Bucket.ETF)
        if math.isfinite(price) and price < self.settings.penny_below:
            return int(Bucket.SPECULATIVE)
        return int(Bucket.CORE)

    def _present_caps(self, buckets: npt.NDArray[np.int_]) -> dict[int, float]:
        """The caps of the buckets that have members: an empty group's gross is 0 and never binds, so it is skipped."""
        counts = np.bincount(buckets, minlength=len(Bucket)).tolist()
        return {group: cap for group, cap in self._bucket_caps().items() if counts[group]}

    def _bucket_caps(self) -> dict[int, float]:
        s = self.settings
        return {int(Bucket.CORE): s.core_cap, int(Bucket.ETF): s.etf_cap, int(Bucket.SPECULATIVE): s.speculative_cap}

    def _gross_cap(self) -> float:
        s = self.settings
        return min(s.max_gross_exposure, 1.0 - s.cash_reserve) if not s.allow_short else s.max_gross_exposure

    def _emit(
        self,
        plan: RiskPlan,
        at: datetime,
        target_weights: Array,
        prices: Array,
        holdings: Array,
        equity: float,
        t: _Terms,
    ) -> None:
        """Turn the per-symbol terms into sized intents and the events that explain each cut or denial."""
        s = self.settings
        for i in t.trades:
            qty = int(t.delta[i])
            max_qty = int(s.max_order_fraction * equity / float(prices[i])) if t.valid[i] else 0
            if abs(qty) > max_qty and not t.closing[i]:
                self._event(plan, at, OrderReduced, i, "max_order_fraction", requested=abs(qty), allowed=max_qty)
                qty = int(np.sign(qty)) * max_qty
            notional = abs(qty * float(prices[i])) if t.valid[i] else 0.0
            if qty == 0 or (notional < s.min_order_notional and not t.closing[i]):
                self._event(
                    plan,
                    at,
                    OrderDenied,
                    i,
                    "min_order_notional",
                    notional=notional,
                    limit=s.min_order_notional,
                )
                continue
            if t.rule[i] is not None:
                # sizing (Kelly) may raise a target before a limit trims it: only a net cut is a reduction
                raised = abs(float(t.weights[i])) > abs(float(target_weights[i])) + _EPS
                self._event(
                    plan,
                    at,
                    OrderResized if raised else OrderReduced,
                    i,
                    str(t.rule[i]),
                    requested_weight=float(target_weights[i]),
                    allowed_weight=float(t.weights[i]),
                )
            plan.intents.append(OrderIntent(i, self.symbols[i], qty, int(holdings[i]) + qty, float(t.weights[i])))
        if t.rule.count(None) == len(t.rule):
            return  # no rule bound anywhere (the usual cycle): nothing was blocked
        for j in [j for j, r in enumerate(t.rule) if r is not None]:  # most symbols bind no rule
            blocked = t.rule[j] in ("no_short", "daily_loss_limit") and not bool(t.trade[j])
            if blocked and abs(float(target_weights[j]) - float(t.current[j])) > self.rebalance_band:
                self._event(plan, at, OrderDenied, j, str(t.rule[j]), requested_weight=float(target_weights[j]))

    def _over_limits(
        self,
        projected: Array,
        allowed: Array,
        prices: Array,
        inputs: RiskInputs | None = None,
        buckets: npt.NDArray[np.int_] | None = None,
        sigma: Array | None = None,
    ) -> npt.NDArray[np.bool_]:
        """Symbols whose drift carried them (or their group) past a cap by more than the tolerance: trim them.

        A book whose bad-bar loss outgrew the drawdown budget (by more than the tolerance) is trimmed too.
        """
        s = self.settings
        slack = s.limit_tolerance + _EPS
        above = np.abs(projected) > np.abs(allowed) + _EPS
        if not above.any():  # every answer below is `above & ...`
            return np.asarray(above, dtype=bool)
        if inputs is not None and inputs.budget is not None:
            sigma = self._sigma(inputs) if sigma is None else sigma
            gross = float(np.abs(projected).sum())
            bad_bar = float((np.abs(projected) * (s.budget_z * sigma + s.gap_allowance + self._exit_cost)).sum())
            if _budget_cut(gross, bad_bar, inputs.budget) > slack:
                return np.asarray(above, dtype=bool)
        over = above & (np.abs(projected) > s.max_position_fraction + slack)
        gross_cap = min(s.max_gross_exposure, 1.0 - s.cash_reserve) if not s.allow_short else s.max_gross_exposure
        if float(np.abs(projected).sum()) > gross_cap + slack:
            over |= above
        buckets = self._buckets(prices) if buckets is None else buckets
        groups = [(buckets, self._present_caps(buckets)), (self._sector, self._sector_caps)]
        for labels, group_caps in groups:
            for group, cap in group_caps.items():
                members = labels == group
                if float(np.abs(projected[members]).sum()) > cap + slack:
                    over |= above & members
        return over
