"""Sparse stepping: run `Engine.step` only on the cycles where something can happen, book the quiet ones in bulk.

A strategy that declares its whole target panel at once (`signals.base.PointInTime.decide_all`) lets the engine
know, before a cycle runs, whether its target changes. A cycle is quiet when, from the engine's state after the
previous cycle: no corporate action goes ex, the target (after halts and stop blocks) equals the last one, no
order can fill (nothing is working but protective OCO legs whose stop and take-profit this bar's range does not
reach), the protective pairs already cover the positions, neither the daily loss limit nor the kill switch is
crossed by this cycle's marks, and the risk engine's plan for the unchanged target is provably empty (no
rebalance past the band, no cap broken by drift, no denial event). Everything else steps, as does any cycle this
module is unsure about. A quiet cycle's marks, exact Decimal valuation (the ledger's fixed-point `value_closes`),
loss-limit bookkeeping, trailing market window, clock, `CycleClosed` event, recorded row and outcome are produced
exactly as `Engine.step` would produce them, so a sparse run is identical to a full one (tests/integration/engine/
test_sparse.py compares fills, equity, stored cycles and events on real bars with limits, stops, a split and a
kill switch).

A stretch is judged with array operations over all its cycles at once (engine/quiet.py: valuations in ticks, the
loss limits, the drawdown guard's reading of each bar), falling back to a cycle-by-cycle reading where those cannot
promise the per-cycle numbers. Booking builds nothing per cycle that nobody reads: the outcomes keep the stretch as
tick arrays (engine/outcomes.py), and records, events and outcome objects are made only for a recorder, a listener
on the bus or an `on_cycle` callback.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from papertrader.core.arrays import Array
from papertrader.domain.events import CycleClosed
from papertrader.domain.sessions import NEW_YORK, interval_minutes
from papertrader.domain.types import Order, OrderType, Side, TimeInForce
from papertrader.engine.health import Status
from papertrader.engine.outcomes import CycleOutcome, Outcomes, QuietBlock
from papertrader.engine.quiet import (
    SCREEN_SLACK,
    FixedMarks,
    RowBounds,
    StretchBounds,
    budget_fractions,
    cash_ticks,
    equity_bounds,
    fixed_marks,
    guard_quiet,
    guard_quiet_span,
    limits_quiet,
    observe_span,
    slack_of,
)
from papertrader.execution.fees import to_decimal
from papertrader.persistence.repository import CycleRecord
from papertrader.portfolio.ledger import Valuation
from papertrader.risk.drawdown import bar_sigma, budget_limit
from papertrader.risk.engine import RiskInputs
from papertrader.risk.limits import DailyLossLimit, DrawdownKillSwitch
from papertrader.risk.sizing import vol_target_scale
from papertrader.signals.base import PointInTime

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from papertrader.engine.cycle import Engine
    from papertrader.engine.panel import Panel

#: Most cycles judged in one go (bounds the arrays a long quiet stretch allocates).
CHUNK = 4096
#: Spans longer than this are first cut where an equity estimate ends the plan's quiet (fewer Decimals built).
ROUGH_FROM = 256
#: Fewest cycles judged in one go.
MIN_CHUNK = 32
#: Relative margin by which a protective price must stay outside a bar's range for the bar to count as quiet.
REACH_MARGIN = 1e-9
_EPS = 1e-9  # the risk engine's tolerance on weights
_HOUR_NS = 3_600_000_000_000
_DAY_NS = 24 * _HOUR_NS


def target_panel(engine: Engine) -> Array | None:
    """The strategy's (T, N) target panel when this run can step sparsely, else None (step every cycle).

    Off for strategies without `decide_all` and whenever the panel does not have the expected shape.
    """
    strategy = engine.strategy
    if not isinstance(strategy, PointInTime):
        return None
    try:
        targets = np.asarray(strategy.decide_all(engine.features), dtype=np.float64)
    except Exception:  # the per-cycle path holds on a failing decision; let it
        log.exception("decide_all of %s failed: stepping every cycle", strategy.name)
        return None
    if targets.shape != (len(engine.panel), len(engine.panel.symbols)):
        return None
    return targets


@dataclass(frozen=True)
class _Span:
    """Quiet cycles start..end-1 with what booking them needs."""

    start: int
    end: int
    closes: Array  # (end-start, N) last known closes after each cycle
    known_equities: Array | None  # None: read from the marks when needed (a screened stretch)
    known_peaks: Array | None  # the kill switch's peak after each cycle (None for a screened stretch: unread)
    marks: FixedMarks | None  # the valuations as ticks (the usual case), or
    valuations: list[Valuation] | None  # as objects, when the fixed-point path could not take the stretch
    limits: tuple[DrawdownKillSwitch, DailyLossLimit] | None = None  # their state after the last cycle, if known

    @cached_property
    def equities(self) -> Array:
        """float(equity) of each cycle."""
        if self.known_equities is not None:
            return self.known_equities
        assert self.marks is not None
        return self.marks.equity

    @property
    def peaks(self) -> Array:
        """The kill switch's peak after each cycle (spans the exact pass judged)."""
        assert self.known_peaks is not None
        return self.known_peaks

    def valuation(self, r: int) -> Valuation:
        """Cycle start + r's valuation, as the ledger gives it."""
        if self.marks is not None:
            return self.marks.valuation(r)
        assert self.valuations is not None
        return self.valuations[r]

    def block(self, n: int, times: Sequence[datetime]) -> QuietBlock:
        """The first n cycles as the run keeps them (their outcomes built only when read)."""
        if self.marks is not None:
            return QuietBlock(self.start, times, marks=self.marks.head(n))
        assert self.valuations is not None
        return QuietBlock(self.start, times, valuations=self.valuations[:n])


class SparseStepper:
    """Drives an Engine over cycles, stepping only those where something can happen."""

    def __init__(self, engine: Engine, targets: Array) -> None:
        self.engine = engine
        self.targets = targets
        panel = engine.panel
        traded = panel.traded
        self._open, self._low, self._high, self._close = traded.open, traded.low, traded.high, traded.close
        n = len(panel)
        acts = np.zeros(n, dtype=bool)
        if panel.as_traded is not None:
            acts = ((panel.as_traded.splits != 1.0) | (panel.as_traded.dividends != 0.0)).any(axis=1)
        # the cycles where a split or dividend goes ex, then n: the first one >= k is found by bisection
        self._action_rows = np.append(np.flatnonzero(acts), n)
        self._dates, self._day = _sessions(panel)
        self._observe_market = engine.settings.costs.execution.market_window > 0
        # the cycles where any target differs from the cycle before, then n (where an unchanged target ends)
        changed = (targets[1:] != targets[:-1]).any(axis=1) if n else np.zeros(0, dtype=bool)
        self._changes = np.append(np.flatnonzero(changed) + 1, n)
        self._rows = self._screen_rows()
        self._day_first = np.searchsorted(self._day, np.arange(len(self._dates)))
        self._weights: dict[tuple[float, bool, float | None], tuple[float, str | None]] = {}
        self._cash: tuple[Decimal | None, int | None] = (None, None)
        self.stepped = 0
        self.skipped = 0

    def _screen_rows(self) -> RowBounds | None:
        """The one-symbol screen's rows (engine/quiet.py), or None where it does not apply (wider universes, or
        sessions out of order, which the screen's O(1) reading of the daily limit assumes)."""
        e = self.engine
        if len(e.panel.symbols) != 1 or len(self._day) == 0 or (np.diff(self._day) < 0).any():
            return None
        level = 0.0 if e.guard is None else e.guard.settings.gap_allowance + e.guard.exit_cost
        s = e.risk.settings
        return RowBounds(
            self._open[:, 0],
            self._low[:, 0],
            self._high[:, 0],
            self._close[:, 0],
            e._volatility[:, 0],
            e.risk.periods_per_year,
            s.vol_target,
            level,
        )

    def _session(self, k: int) -> date:
        """`session_date(close_times[k])`."""
        return self._dates[int(self._day[k])]

    def run(
        self,
        first: int,
        on_cycle: Callable[[CycleOutcome], None] | None,
        should_stop: Callable[[], bool] | None,
        progress: Callable[[int], None] | None = None,
    ) -> Outcomes:
        """Cycles first..end in order, the same outcomes as stepping each one."""
        engine = self.engine
        outcomes = Outcomes()
        n = len(engine.panel)
        k = first
        chunk = MIN_CHUNK
        while k < n:
            span = self._quiet(k, min(n, k + chunk)) if k > first else None
            if span is not None:
                # judge about twice the last quiet stretch next time: short spans stay cheap, long ones few
                chunk = min(CHUNK, max(MIN_CHUNK, 2 * (span.end - span.start)))
                booked = len(outcomes)
                stopped = self._book(span, outcomes, on_cycle, should_stop)
                self.skipped += len(outcomes) - booked
                if stopped:
                    break
                k = span.end
                if progress is not None:
                    progress(k)
                continue
            if should_stop is not None and should_stop():
                break
            outcome = engine.step(k)
            self.stepped += 1
            outcomes.append(outcome)
            if on_cycle is not None:
                on_cycle(outcome)
            k += 1
            if progress is not None:
                progress(k)
        return outcomes

    # ------------------------------------------------------------------ judging a span

    def _quiet(self, k: int, limit: int) -> _Span | None:
        """The longest run of quiet cycles from k (before `limit`), or None when cycle k must step."""
        e = self.engine
        if e.hold is not None or e._pending_events or e.risk.daily.hit:
            return None
        ungated = e.halted is None and (e.protector is None or not e.protector.blocked)
        if ungated and (self.targets[k] != e._last_target).any():  # the target changes at k: it steps
            return None
        working = e.broker.working
        if working and e.protector is None:
            return None  # an order is working (the common reason a cycle after a decision steps)
        signals = e.health.snapshot().get("signals")
        if signals is None or signals.status is not Status.OK:
            return None  # the last decision failed (or none ran): the next one changes health
        action = int(self._action_rows[np.searchsorted(self._action_rows, k)])
        end = min(limit, action)
        if end <= k:
            return None
        for order in working:
            protective = order.oco_group is not None and order.parent_id is None and order.tif is TimeInForce.GTC
            if not protective or order.is_triggered or order.type not in (OrderType.STOP, OrderType.LIMIT):
                return None
        if e.protector is not None and not e.protector.settled(e.ledger, e.broker):
            return None
        if e.protector is None and working:
            return None
        if self._rows is not None:
            screened = self._screened(k, action, working)
            if screened is not None:
                return screened
        end = self._target_end(k, end)
        for order in working:
            end = self._reach_end(order, k, end)
        if end <= k:
            return None
        closes = _forward_fill(self._close[k:end], e._last_close)
        span = self._fixed(k, closes)
        if span is None:
            span = self._marks(k, closes)
        if span is None:
            return None
        quiet = self._plan_quiet(k, span.closes, span.equities, span.peaks)
        if not quiet[0]:
            return None
        if quiet.all():
            return span
        cut = int(np.argmin(quiet))  # the first cycle the plan would act on: the stretch ends before it
        if span.marks is not None:  # the limits' state after `cut` cycles (observe_span on the shorter stretch)
            return self._fixed(k, closes[:cut])
        assert span.valuations is not None  # cycle by cycle: the limits are observed again as they are booked
        return _Span(k, k + cut, span.closes[:cut], span.equities[:cut], span.peaks[:cut], None, span.valuations[:cut])

    def _screened(self, k: int, end: int, working: Sequence[Order]) -> _Span | None:
        """The quiet stretch from k up to the next target change (before `end`), when a few scalar bounds prove
        it quiet (one symbol; engine/quiet.py `limits_quiet`, `guard_quiet` and `_plan_screen` here), booked
        without judging it cycle by cycle; None when the bounds prove nothing (the exact pass decides then).

        Each bound implies what the exact pass (`_fixed`: `observe_span`, `guard_quiet_span`, `_plan_quiet`) would
        find, so the stretch is the one it would return (the screen cuts where the target changes, which the exact
        pass also does) and its booking is the same ticks, equity and limit state.
        """
        e = self.engine
        if e.halted is not None or (e.protector is not None and e.protector.blocked):
            return None  # a gated target: `_target_end` decides
        end = min(end, int(self._changes[np.searchsorted(self._changes, k, side="right")]))
        for order in working:
            end = self._reach_end(order, k, end)
        if end <= k:
            return None
        rows = self._rows
        assert rows is not None
        cash = e.ledger.cash
        if cash is not self._cash[0]:  # cash changes only with a fill: its ticks are kept for the next stretch
            self._cash = (cash, cash_ticks(cash))
        base = self._cash[1]
        if base is None or abs(base) >= 2**53:
            return None
        qty = e.ledger.qty(e.panel.symbols[0])
        risk = e.risk
        kill, daily = risk.kill_switch, risk.daily
        if not (math.isfinite(kill.peak) and math.isfinite(daily.start_equity) and math.isfinite(daily.last_equity)):
            return None
        bounds: StretchBounds | None = None
        if qty == 0:
            if e._last_target[0] != 0.0:
                return None  # an entry the plan might still make (the exact pass sizes it)
            eq_lo = eq_hi = float(cash)
        else:
            if float(e._last_close[0]) != float(self._close[k - 1, 0]):
                return None  # the guard reads the last close before k, which the bounds take from row k - 1
            bounds = rows.bounds(k, end)
            extremes = equity_bounds(qty, base, bounds)
            if extremes is None:
                return None
            eq_lo, eq_hi = extremes
        peak_max = max(kill.peak, eq_hi)
        if not limits_quiet(kill, daily, eq_lo, eq_hi, peak_max):
            return None
        if bounds is not None:
            if e.guard is not None and not guard_quiet(
                e.guard.settings, e.guard.exit_cost, qty, float(cash), peak_max, bounds
            ):
                return None
            if not self._plan_screen(k, qty, bounds, eq_lo, eq_hi, peak_max):
                return None
        m = end - k
        if bounds is None:
            closes = _forward_fill(self._close[k:end], e._last_close)
        else:  # every close of the stretch is a usable number: nothing to carry forward
            closes = np.array(self._close[k:end], dtype=np.float64)
        marks = rows.marks(cash, base, qty, k, end)

        def equity_at(r: int) -> float:  # `marks.equity[r]`, without the array
            return float(cash) if qty == 0 else rows.equity(qty, base, k + r)

        # the peak after the stretch: max(peak before, every equity), and the largest equity is eq_hi
        after_kill = DrawdownKillSwitch(kill.threshold, max(kill.peak, eq_hi), kill.fired_at_drawdown)
        after_daily = DailyLossLimit(
            daily.limit, daily.session, daily.start_equity, daily.last_equity, daily.hit_at_loss
        )
        day_last = int(self._day[end - 1])
        opened: int | None = None  # the row where the last session of the stretch opens (as `observe_span` finds)
        if day_last != int(self._day[k]):
            opened = int(self._day_first[day_last]) - k
        elif self._dates[int(self._day[k])] != daily.session:
            opened = 0
        if opened is not None:
            last = equity_at(opened - 1) if opened > 0 else daily.last_equity
            after_daily.session = self._dates[day_last]
            after_daily.start_equity = last if last > 0 else equity_at(opened)
            after_daily.hit_at_loss = None
        after_daily.last_equity = equity_at(m - 1)
        return _Span(k, end, closes, None, None, marks, None, (after_kill, after_daily))

    def _plan_screen(self, k: int, qty: int, b: StretchBounds, eq_lo: float, eq_hi: float, peak_max: float) -> bool:
        """True only when `_plan_quiet` is True on every cycle of a one-symbol stretch holding qty shares.

        The plan's per-cycle quantities are monotone in the close and the equity, which lie in [p_min, p_max] and
        [eq_lo, eq_hi]: the current weight q p / eq lies between the four corners; the target quantity
        trunc(w eq / p) is nonzero when |w| eq_lo / p_max >= 1; the band and every cap hold when they hold at the
        extreme weight; the drawdown budget 1 - max(peak, eq) (1 - L) / eq is at least 1 - peak_max (1 - L) / eq_lo
        and the bad-bar loss per unit of weight at most z max(sigma) + g + x. What `limit_weights` gives the target
        depends only on the target, the price bucket and the volatility scale, which must stay those of the first
        cycle (as `_plan_quiet` requires), so it is computed once per such combination. Every test keeps
        SCREEN_SLACK of its magnitudes, above the rounding of the per-cycle floats.
        """
        e = self.engine
        risk = e.risk
        s = risk.settings
        penny = b.p_min < s.penny_below
        if penny != (b.p_max < s.penny_below):
            return False  # the bucket changes inside the stretch
        scale: float | None = None
        if s.vol_target is not None:
            if b.scale_max != b.scale_min:
                return False
            scale = b.scale_max
        target = e._last_target
        key = (float(target[0]), penny, scale)
        cached = self._weights.get(key)
        if cached is None:
            weights, rule = risk.limit_weights(target, self._close[k], RiskInputs(None, None, e._volatility[k], None))
            cached = self._weights[key] = (float(weights[0]), rule[0])
        w, rule0 = cached
        if w == 0.0 or not abs(w) * eq_lo / b.p_max >= 1.0 + SCREEN_SLACK:
            return False  # the position would close (or could): the exact pass decides
        q = float(qty)
        corners = (q * b.p_min / eq_lo, q * b.p_min / eq_hi, q * b.p_max / eq_lo, q * b.p_max / eq_hi)
        lo, hi = min(corners), max(corners)
        band = risk.rebalance_band
        margin = slack_of(lo, hi, w, band)
        if not max(abs(lo - w), abs(hi - w)) <= band - margin:
            return False  # it may drift past the band
        if rule0 in ("no_short", "daily_loss_limit"):
            t = float(target[0])
            if not max(abs(t - lo), abs(t - hi)) <= band - margin:
                return False
        size = max(abs(lo), abs(hi))
        tolerance = s.limit_tolerance + _EPS
        per_unit = math.inf
        budget = math.inf
        if s.drawdown_budget:
            budget = 1.0 - peak_max * (1.0 - budget_limit(s.max_drawdown, s.budget_margin)) / eq_lo
            per_unit = s.budget_z * b.sigma + s.gap_allowance + risk._exit_cost
            loss = abs(w) * per_unit
            if not (budget > 0 and loss <= budget * (1.0 - 1e-9) - slack_of(budget, loss)):
                return False  # the budget may bind the target
        if not size + margin > abs(w) + _EPS:
            return True  # never above the allowed weight: no cap can count as broken by drift
        caps = [s.max_position_fraction + tolerance, risk._gross_cap() + tolerance - 1e-9]
        caps.append(risk._bucket_caps()[risk._bucket_one(b.p_min)] + tolerance - 1e-9)
        sector = risk._sector_caps.get(int(risk._sector[0]))
        if sector is not None:
            caps.append(sector + tolerance - 1e-9)
        if not size < min(caps) - margin:
            return False
        return not s.drawdown_budget or size * per_unit <= budget - slack_of(budget, size * per_unit)

    def _effective(self) -> tuple[Array | None, list[int]]:
        """(halted flat target or None, protective blocks by index) as `Engine.step` would gate the decision."""
        e = self.engine
        blocked = [] if e.protector is None else sorted(e._index[s] for s in e.protector.blocked)
        return (np.zeros(len(e.panel.symbols)) if e.halted is not None else None), blocked

    def _target_end(self, k: int, end: int) -> int:
        """First cycle in k..end where the gated target differs from the last one (or a stop block would clear)."""
        e = self.engine
        flat, blocked = self._effective()
        last = e._last_target
        if flat is not None:
            return end if np.array_equal(flat, last) else k
        rows = self.targets[k:end]
        same = rows == last
        if blocked:
            same[:, blocked] = True
        ok = same.all(axis=1)
        if blocked:
            ok &= (rows[:, blocked] > 0.0).all(axis=1)  # a block clears (an event) once the target is not long
            ok &= (last[blocked] == 0.0).all()
        return end if ok.all() else k + int(np.argmin(ok))

    def _reach_end(self, order: Order, k: int, end: int) -> int:
        """First cycle in k..end whose range could trigger or fill this protective leg."""
        i = self.engine._index[order.symbol]
        price_dec = order.stop_price if order.type is OrderType.STOP else order.limit_price
        assert price_dec is not None
        price = float(price_dec)
        low, high = self._low[k:end, i], self._high[k:end, i]
        sell = order.side is Side.SELL
        stop = order.type is OrderType.STOP
        with np.errstate(invalid="ignore"):
            # a sell stop or a buy limit is reached when the bar trades at or below it, the others at or above
            below = low <= price * (1.0 + REACH_MARGIN)
            reach = below if sell == stop else high >= price * (1.0 - REACH_MARGIN)
            reach |= ~(np.isfinite(low) & np.isfinite(high)) & np.isfinite(self._close[k:end, i])
        return end if not reach.any() else k + int(np.argmax(reach))

    def _fixed(self, k: int, closes: Array) -> _Span | None:
        """The stretch from k judged in bulk (engine/quiet.py): valuations in ticks, the loss limits and the guard's
        reading of each bar; it ends before the first cycle where a limit fires or the guard would act. None when
        the fixed-point path cannot take it (then `_marks` judges cycle by cycle)."""
        e = self.engine
        held = e.ledger.holdings()
        marks = fixed_marks(e.ledger.cash, held.astype(np.int64), closes)
        if marks is None:
            return None
        m = len(closes)
        risk = e.risk
        day = self._day[k : k + m]
        equity = marks.equity
        limits = observe_span(risk.kill_switch, risk.daily, equity, day, self._dates)
        n = limits.quiet
        if e.guard is not None and n > 0:
            peaks_before = np.concatenate([[risk.kill_switch.peak], limits.peaks[: n - 1]])
            before = np.vstack([e._last_close[None, :], closes[: n - 1]])
            rows = slice(k, k + n)
            ok = guard_quiet_span(
                e.guard.settings,
                e.guard.exit_cost,
                self._open[rows],
                self._low[rows],
                self._high[rows],
                peaks_before,
                float(e.ledger.cash),
                held,
                before,
            )
            if ok is None:
                return None
            if not ok.all():
                n = int(np.argmin(ok))
                limits = observe_span(risk.kill_switch, risk.daily, equity[:n], day[:n], self._dates)
        if n == 0:
            return None
        state = (limits.kill_switch, limits.daily)
        return _Span(k, k + n, closes[:n], equity[:n], limits.peaks, marks.head(n), None, state)

    def _marks(self, k: int, closes: Array) -> _Span | None:
        """The stretch from k judged cycle by cycle (marks off the 0.0001 grid, cash with finer digits, a guard over
        several positions): the ledger's valuation of each cycle, the loss limits (on copies) and the guard's reading
        of each bar; it ends before the first cycle where a limit fires or the guard would act."""
        e = self.engine
        if len(closes) > ROUGH_FROM:
            # a float estimate of equity finds where the plan stops being quiet before any Decimal is built
            held = e.holdings()
            estimate = float(e.ledger.cash) + (np.where(np.isfinite(closes), closes, 0.0) * held[None, :]).sum(axis=1)
            rough = self._plan_quiet(
                k, closes, estimate, np.maximum.accumulate(np.maximum(estimate, e.risk.kill_switch.peak))
            )
            if not rough[0]:
                return None
            if not rough.all():
                closes = closes[: int(np.argmin(rough)) + 1]  # one past: the exact check decides that cycle too
        index = e._index
        held_at = [(s, index[s]) for s in e.ledger.positions]
        risk = copy.copy(e.risk)
        risk.kill_switch = copy.copy(e.risk.kill_switch)
        risk.daily = copy.copy(e.risk.daily)
        times = e.panel.close_times
        valuations: list[Valuation] = []
        equities: list[float] = []
        peaks: list[float] = []
        value = e.ledger.value
        rows = closes.tolist() if held_at else None
        constant = value({}) if not held_at else None
        guard = e.guard
        shares = e.holdings()
        cash = float(e.ledger.cash)
        for r in range(len(closes)):
            if guard is not None:
                before = e._last_close if r == 0 else closes[r - 1]
                at = k + r
                opened = guard.quiet(
                    self._open[at], self._low[at], self._high[at], risk.kill_switch.peak, cash, shares, before
                )
                if not opened:
                    break
            if rows is None:
                valuation = constant
                assert valuation is not None
            elif r > 0 and rows[r] == rows[r - 1]:
                valuation = valuations[-1]  # the same marks value the same: share the (immutable) valuation
            else:
                row = rows[r]
                marks: Mapping[str, Decimal] = {s: to_decimal(row[i]) for s, i in held_at}
                valuation = value(marks)
            equity = float(valuation.equity)
            if risk.observe(times[k + r], self._session(k + r), equity):
                break
            valuations.append(valuation)
            equities.append(equity)
            peaks.append(risk.kill_switch.peak)
        n = len(valuations)
        if n == 0:
            return None
        whole = (risk.kill_switch, risk.daily) if n == len(closes) else None  # the copies observed exactly these
        return _Span(k, k + n, closes[:n], np.asarray(equities), np.asarray(peaks), None, valuations, whole)

    def _plan_quiet(self, k: int, closes: Array, equity: Array, peaks: Array) -> Array:
        """Per cycle: True when `RiskEngine.plan` for the unchanged target provably orders and reports nothing.

        It mirrors `RiskEngine._terms` (the same float operations, so the same answers) for a book with nothing
        pending: a symbol trades when its whole-share target differs from the holding and it opens, closes,
        drifted past the band or broke a cap by drift (`_over_limits`); sums over groups, whose order of addition
        may differ, count as broken within 1e-9 of their cap. With the drawdown budget on, a cycle is quiet only
        where the budget does not bind the target (its bad-bar loss stays 1e-9 inside the budget) and drift did
        not push the book's bad-bar loss past the budget by more than the tolerance.
        """
        e = self.engine
        risk = e.risk
        s = risk.settings
        m = len(closes)
        flat, _ = self._effective()
        target = flat if flat is not None else e._last_target
        held = e.holdings()
        if not target.any() and not held.any():
            return np.ones(m, dtype=bool)
        vol = e._volatility[k : k + m]
        valid = np.isfinite(closes) & (closes > 0)
        buckets = risk._buckets(closes)
        # what `limit_weights` reads of a cycle: price validity, the penny/ETF bucket and the volatility scale
        signature: list[np.ndarray] = [valid, buckets]
        if s.vol_target is not None:
            signature.append(vol_target_scale(vol, s.vol_target))
        same = np.ones(m, dtype=bool)
        for part in signature:
            same &= (part == part[0]).all(axis=1)
        weights, rule = risk.limit_weights(target, closes[0], RiskInputs(None, None, vol[0], None))
        budget: Array | None = None
        if s.drawdown_budget:  # the engine passes the budget: quiet only where it leaves the target as it is
            limit = budget_limit(s.max_drawdown, s.budget_margin)
            budget = budget_fractions(equity, peaks, limit)
            sigma = bar_sigma(vol, risk.periods_per_year)
            per_unit = s.budget_z * sigma + s.gap_allowance + risk._exit_cost
            loss = (np.abs(weights)[None, :] * per_unit).sum(axis=1)
            same &= (budget > 0) & (loss <= budget * (1.0 - 1e-9))
        prices = np.where(valid, closes, 0.0)
        safe = np.where(valid, closes, np.inf)
        eq = equity[:, None]
        current = held[None, :] * prices / eq
        target_qty = np.trunc(weights[None, :] * eq / safe)
        delta = target_qty - held[None, :]
        band = risk.rebalance_band
        calm = (held != 0)[None, :] & (target_qty != 0) & ~(np.abs(current - weights[None, :]) > band)
        over: np.ndarray = self._over_limits(current, weights, buckets[0])
        if budget is not None:  # `_over_limits`: a book whose bad-bar loss outgrew the budget is trimmed
            size = np.abs(current)
            bad_bar = (size * per_unit).sum(axis=1)
            gross = size.sum(axis=1)
            cut = np.where(bad_bar <= budget, 0.0, np.where(budget <= 0, gross, gross * (1.0 - budget / bad_bar)))
            above = size > np.abs(weights)[None, :] + _EPS
            over |= above & (cut > s.limit_tolerance + _EPS - 1e-9)[:, None]
        calm = calm & np.logical_not(over)
        ok = (delta == 0) | calm
        denied = np.array([r in ("no_short", "daily_loss_limit") for r in rule])
        if denied.any():
            ok &= ~(denied[None, :] & (np.abs(target[None, :] - current) > band))
        quiet = (ok.all(axis=1) & same) | (equity <= 0)
        return np.asarray(quiet & np.isfinite(equity), dtype=bool)

    def _over_limits(self, projected: Array, allowed: Array, buckets: Array) -> Array:
        """`RiskEngine._over_limits` without a drawdown budget, per cycle (rows) and symbol (columns)."""
        risk = self.engine.risk
        s = risk.settings
        slack = s.limit_tolerance + _EPS
        size = np.abs(projected)
        above = size > np.abs(allowed)[None, :] + _EPS
        over = above & (size > s.max_position_fraction + slack)
        gross_cap = risk._gross_cap()
        over |= above & (size.sum(axis=1) > gross_cap + slack - 1e-9)[:, None]
        caps = risk._bucket_caps()
        for labels, group_caps in ((buckets, caps), (risk._sector, risk._sector_caps)):
            for group, cap in group_caps.items():
                members = labels == group
                if members.any():
                    broken = (size * members[None, :]).sum(axis=1) > cap + slack - 1e-9
                    over |= above & members[None, :] & broken[:, None]
        return np.asarray(over, dtype=bool)

    # ------------------------------------------------------------------ booking a span

    def _book(
        self,
        span: _Span,
        outcomes: Outcomes,
        on_cycle: Callable[[CycleOutcome], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> bool:
        """Book the quiet cycles exactly as `Engine.step` would; True when should_stop ended the run."""
        e = self.engine
        panel = e.panel
        times = panel.close_times
        recorder = e.recorder
        announce = recorder is not None or e.bus.wants(CycleClosed.KIND)  # nobody reads it otherwise
        alone = on_cycle is None and should_stop is None and not announce and not self._observe_market
        if alone and span.limits is not None:  # nothing reads the cycles one by one: book the stretch in one go
            e.clock.advance_to(times[span.end - 1])
            e._last_close = span.closes[-1].copy()
            e.risk.kill_switch, e.risk.daily = span.limits
            outcomes.add_quiet(span.block(span.end - span.start, times))
            return False
        unread = on_cycle is None and should_stop is None and not e.bus.wants(CycleClosed.KIND)
        bulk = recorder is not None and hasattr(recorder, "record_many")
        if unread and bulk and span.limits is not None and not self._observe_market:
            # only the recorder reads the cycles: their records go over in one hand-over (nobody listens on the bus)
            e._record_many([self._record(span, r, times[k]) for r, k in enumerate(range(span.start, span.end))])
            e.clock.advance_to(times[span.end - 1])
            e._last_close = span.closes[-1].copy()
            e.risk.kill_switch, e.risk.daily = span.limits
            outcomes.add_quiet(span.block(span.end - span.start, times))
            return False
        limits = span.limits if should_stop is None else None  # a stop mid-span must leave them where it stopped
        booked = 0
        stopped = False
        for r, k in enumerate(range(span.start, span.end)):
            if should_stop is not None and should_stop():
                stopped = True
                break
            now = times[k]
            if self._observe_market:
                e.broker.observe(panel.bar(k))
            e.clock.advance_to(now)
            e._last_close = span.closes[r]
            equity = float(span.equities[r])
            if limits is None:
                fired = e.risk.observe(now, self._session(k), equity)
                assert not fired, "a quiet cycle crossed a loss limit"
            booked = r + 1
            if not announce and on_cycle is None:
                continue
            valuation = span.valuation(r)
            if announce:
                record = self._record(span, r, now, valuation)
                if recorder is not None:
                    e._record(record)
                e.bus.publish(record.events[0])
            if on_cycle is not None:
                on_cycle(CycleOutcome(k, now, valuation, ()))
        outcomes.add_quiet(span.block(booked, times))
        if booked:
            e._last_close = span.closes[booked - 1].copy()
        if limits is not None and not stopped:
            e.risk.kill_switch, e.risk.daily = limits
        return stopped

    @staticmethod
    def _record(span: _Span, r: int, now: datetime, valuation: Valuation | None = None) -> CycleRecord:
        """Cycle span.start + r as `Engine.step` records it: the account and its `CycleClosed`, nothing traded."""
        k = span.start + r
        if valuation is None:
            valuation = span.valuation(r)
        equity = float(span.equities[r])
        closed = CycleClosed(
            now,
            cycle=k,
            cash=valuation.cash,
            equity=valuation.equity,
            gross_exposure=valuation.gross_exposure,
            fills=0,
            orders=0,
        )
        return CycleRecord(
            cycle=k,
            ts=now,
            orders=(),
            fills=(),
            positions=(),
            cash=valuation.cash,
            market_value=valuation.market_value,
            equity=closed.equity,
            gross_exposure=float(valuation.gross_exposure) / equity if equity > 0 else math.inf,
            events=(closed,),
        )


def _forward_fill(block: Array, last: Array) -> Array:
    """Each cycle's last known close per symbol (NaN until a symbol trades), continuing from `last`."""
    if np.isfinite(block).all():
        return np.array(block, dtype=np.float64)
    filled = np.vstack([last[None, :], block])
    valid = np.isfinite(filled)
    idx = np.where(valid, np.arange(len(filled))[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    out = filled[idx, np.arange(filled.shape[1])[None, :]]
    return np.asarray(out[1:], dtype=np.float64)


def _sessions(panel: Panel) -> tuple[list[date], npt.NDArray[np.int32]]:
    """The distinct session dates and, per cycle, the index of `session_date(close_times[k])` among them (bulk)."""
    if len(panel) == 0:
        return [], np.zeros(0, dtype=np.int32)
    stamps = panel.ts if panel.ts.tz is not None else panel.ts.tz_localize("UTC")
    if panel.interval != "1d":  # a daily bar closes on its own session date; an intraday one interval later
        stamps = stamps + pd.Timedelta(minutes=interval_minutes(panel.interval))
    # New York wall time, for its calendar date: its UTC offset is whole hours and changes only on an hour, so it
    # is looked up once per run of stamps in the same UTC hour (minute bars: ~60x fewer conversions)
    stamps = stamps.as_unit("ns")
    utc = np.asarray(stamps.asi8, dtype=np.int64)
    hour = utc // _HOUR_NS
    starts = np.flatnonzero(np.concatenate([[True], hour[1:] != hour[:-1]]))
    first = pd.DatetimeIndex(hour[starts] * _HOUR_NS, tz="UTC")
    offsets = first.tz_convert(NEW_YORK).tz_localize(None).asi8 - first.asi8
    if (offsets % _HOUR_NS).any():  # not whole hours (local mean time before 1883): convert every stamp
        local = np.asarray(stamps.tz_convert(NEW_YORK).tz_localize(None).asi8, dtype=np.int64)
    else:
        local = utc + np.repeat(offsets, np.diff(np.append(starts, len(utc))))
    unique, inverse = np.unique(local - local % _DAY_NS, return_inverse=True)
    dates = [pd.Timestamp(int(u)).date() for u in unique]
    return dates, np.asarray(inverse, dtype=np.int32).reshape(-1)
