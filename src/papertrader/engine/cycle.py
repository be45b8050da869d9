"""The one cycle loop: bars -> broker fills -> ledger -> features -> decision -> risk -> orders -> record.

Backtest, replay and live paper trading all run this loop; they differ only in the clock, the pacing
and how often the recorder commits.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

import numpy as np

from papertrader.config.settings import Settings
from papertrader.core.arrays import Array, BoolArray
from papertrader.core.clock import SimClock
from papertrader.core.errors import ConfigError, TemporaryError
from papertrader.core.events import EventBus
from papertrader.core.ids import order_id
from papertrader.data.universe import universe_sectors
from papertrader.domain.events import (
    CycleClosed,
    DividendPaid,
    DomainEvent,
    HaltChanged,
    HealthChanged,
    KillSwitchFired,
    OrderFilled,
    OrderSubmitted,
    PositionsFlattened,
    QuoteMarked,
    SignalChanged,
    SplitApplied,
    TradingModeChanged,
)
from papertrader.domain.sessions import bars_per_year, session_date
from papertrader.domain.types import Fill, Order, OrderType, Position, Side, TimeInForce
from papertrader.engine.growth import drop_head, grow, own_bars_start, same_memory, tail_start
from papertrader.engine.guard import DrawdownGuard
from papertrader.engine.health import HealthBoard, LatencyTracker, Status
from papertrader.engine.outcomes import CycleOutcome as CycleOutcome  # its old home, for callers
from papertrader.engine.outcomes import Outcomes
from papertrader.engine.panel import Panel
from papertrader.engine.protection import Protector, atr_panel, is_protective
from papertrader.engine.sparse import SparseStepper, target_panel
from papertrader.execution.broker import BrokerReport, PaperBroker
from papertrader.execution.fees import CENT, to_decimal
from papertrader.features.technical import PriceArrays
from papertrader.features.view import FeatureView
from papertrader.persistence.repository import CycleRecord, QuoteRecord
from papertrader.portfolio.ledger import Ledger, Valuation
from papertrader.risk.construction import construct, expected_returns
from papertrader.risk.drawdown import budget_fraction, budget_limit
from papertrader.risk.engine import RiskEngine, RiskInputs, RiskPlan
from papertrader.risk.sectors import with_sectors
from papertrader.risk.sizing import trailing_volatility, trailing_volatility_rows
from papertrader.signals.base import Decision, Replayable, Strategy


class RecorderBacklogError(TemporaryError):
    """The recorder could not commit yet; it kept the records and will retry on the next cycle."""


log = logging.getLogger(__name__)
#: rows already seen that `Engine.extend` compares (a rebuilt causal feature restates rows next to the new bars)
EXTEND_CHECK_ROWS = 32
#: the live ATR tail, in ATR periods: Wilder smoothing keeps (1 - 1/14)^700 ~ 3e-23 of a seed that far back
ATR_TAIL_PERIODS = 50
#: rows of the drawdown budget's bad-bar factors computed at once (one pass per block instead of one per cycle)
BAD_BAR_BLOCK = 256


class Recorder(Protocol):
    """Where cycle records go: a database in paper mode, a batch in backtests, nowhere in benchmarks."""

    def record(self, record: CycleRecord) -> None:
        """Keep one cycle's changes; raise RecorderBacklogError if they are kept but not yet committed."""
        ...

    def settle(self) -> None:
        """Wait until the cycles handed over are committed (or kept for retry): orders durable before fills."""
        ...


@runtime_checkable
class QuoteRecorder(Protocol):
    """A recorder that can make what quotes did between closes durable at once (the live loop's)."""

    def record_quotes(self, record: QuoteRecord) -> bool:
        """Commit it now; False when it cannot (the engine then keeps it for the next cycle's record)."""
        ...


class Engine:
    """Holds the live state of one run and advances it one cycle at a time."""

    def __init__(
        self,
        *,
        run_id: str,
        panel: Panel,
        features: Mapping[str, Array],
        strategy: Strategy,
        settings: Settings,
        clock: SimClock,
        bus: EventBus,
        recorder: Recorder | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        missing = set(strategy.required_features()) - set(features)
        if missing:
            raise ValueError(f"strategy {strategy.name} needs features {sorted(missing)}")
        self.run_id = run_id
        self.panel = panel
        self.features = features
        self.strategy = strategy
        self.settings = settings
        self.clock = clock
        self.bus = bus
        self.recorder = recorder
        self.ledger = Ledger(to_decimal(settings.initial_cash), symbols=panel.symbols)
        self.broker = PaperBroker(panel.symbols, settings.costs)
        ppy = bars_per_year(panel.interval)
        limits = settings.risk
        if limits.sectors_from_universe:
            limits = with_sectors(limits, universe_sectors(settings.home, panel.symbols))
        self.risk = RiskEngine(panel.symbols, limits, settings.strategy.rebalance_band, ppy)
        self.guard = DrawdownGuard(run_id, panel.symbols, settings.risk) if settings.risk.drawdown_budget else None
        self._volatility = trailing_volatility(panel.prices.close, settings.risk.vol_window, ppy)
        #: (volatility panel, first row, risk.bad_bar of a block of its rows from there): see _bad_bar_row
        self._bad_bar: tuple[Array, int, Array] | None = None
        self.protector: Protector | None = None
        if settings.risk.protective_stops:
            self.protector = Protector(
                run_id, panel.symbols, settings.risk, _traded_atr(panel, settings.risk.atr_period)
            )
        self._pending_events: list[DomainEvent] = []
        self._construction_off = False
        self._last_close = np.full(len(panel.symbols), np.nan)
        self._last_target = np.zeros(len(panel.symbols))
        self._index = {s: i for i, s in enumerate(panel.symbols)}
        self.health = HealthBoard()
        self.halted: str | None = None
        self.observing = False  # observe-only: decide and size as usual, but send no new orders
        self.hold: str | None = None  # the live loop's data is missing or stale: no new decisions
        self.latency = LatencyTracker()
        self._timer = timer
        self.sparse: SparseStepper | None = None  # set by run(sparse=True): how many cycles it stepped and skipped
        #: what quotes between bar closes changed and is not yet stored (fills, orders, positions, events)
        self._quoted = BrokerReport()
        self._quoted_positions: dict[str, Position] = {}
        #: the cycle number of the panel's first row: a bounded live panel drops old rows (`drop_rows`), and every
        #: cycle number (order ids, records, events, `step(k)`) stays the one the whole history would give
        self.base = 0

    @property
    def end(self) -> int:
        """The cycle number after the panel's last row (the next bar's cycle)."""
        return self.base + len(self.panel)

    def reach(self) -> int:
        """Rows before a cycle that the engine's own readers look back (volatility, stops' ATR, construction)."""
        risk = self.settings.risk
        rows = risk.vol_window + 1
        if self.protector is not None:
            rows = max(rows, ATR_TAIL_PERIODS * risk.atr_period)
        if risk.construction != "none":
            rows = max(rows, risk.construction_window + 1)
        return rows

    def drop_rows(self, panel: Panel, features: Mapping[str, Array]) -> int:
        """Keep only `panel`, the tail of the current panel (a bounded live run), with `features` for its rows.

        The rows dropped must not be read again: the engine's readers keep their depth of each symbol's own bars
        (`reach`); the strategy reads through views that refuse a window before the first kept row. Cycle numbers
        do not change. Returns the number of rows dropped.
        """
        m = len(self.panel) - len(panel)
        if m < 0 or panel.symbols != self.panel.symbols or (len(panel) and panel.ts[0] != self.panel.ts[m]):
            raise ValueError("drop_rows needs a tail of the current panel")
        if m == 0:
            return 0
        if m > own_bars_start(self.panel.prices.close, self.reach()):
            raise ValueError(f"dropping {m} rows would lose bars the risk engine still reads")
        if sorted(features) != sorted(self.features) or any(v.shape[0] != len(panel) for v in features.values()):
            raise ValueError("drop_rows needs every feature the strategy reads, for the kept rows")
        self._volatility = drop_head(self._volatility, m)
        self._bad_bar = None
        if self.protector is not None:
            self.protector.atr = drop_head(self.protector.atr, m)
            self.protector.base += m
        self.panel, self.features = panel, dict(features)
        self.base += m
        return m

    def restore(
        self,
        fills: Sequence[Fill],
        orders: Sequence[Order],
        last_cycle: int,
        events: Sequence[DomainEvent] = (),
        curve: Sequence[tuple[datetime, float]] = (),
        first: int | None = None,
    ) -> None:
        """Rebuild the state a killed run had committed after `last_cycle`, so it continues exactly.

        `events` needs only the kinds in domain.events.RESTORE_KINDS (protective-stop blocks, halts and resets) and
        `curve` the committed (close time, equity) of every cycle, from which the loss limits are replayed.
        A strategy with memory (it has a `replay(cycles)` method, like the ensemble) is handed every committed
        cycle `first..last_cycle` to decide again in order; a stateless one decides `last_cycle` only.
        """
        if self.base:
            raise ValueError("restore runs on the whole history panel, before any row is dropped")
        actions = [e for e in events if isinstance(e, SplitApplied | DividendPaid)]
        for _, _, item in sorted(
            [(f.ts, 1, f) for f in fills] + [(e.ts, 0, e) for e in actions],
            key=lambda x: (x[0], x[1], x[2].seq if isinstance(x[2], Fill) else 0),
        ):
            if isinstance(item, Fill):
                self.ledger.apply(item)
            else:
                apply_action_event(self.ledger, item)
        open_orders = [o for o in orders if o.is_open]
        first_sessions = {}
        for order in open_orders:
            k = self.panel.first_bar_opening_at_or_after(order.created_at)
            if k <= last_cycle:
                first_sessions[order.id] = session_date(self.panel.open_times[k])
        self.broker = PaperBroker(
            self.panel.symbols, self.settings.costs, fill_seq=max((f.seq for f in fills), default=0)
        )
        self.broker.restore(open_orders, first_sessions)
        if self.protector is not None:
            self.protector.restore(open_orders, events)
        marks = [(e.ts, e.equity) for e in events if isinstance(e, QuoteMarked)]
        if marks:  # the loss limits also saw the quote marks between closes (live runs with quotes on)
            curve = sorted([*curve, *marks], key=lambda m: m[0])
        self._restore_limits(curve, [e for e in events if isinstance(e, HaltChanged)])
        modes = [e for e in events if isinstance(e, TradingModeChanged)]
        self.observing = modes[-1].observe if modes else False
        self._last_close = self.panel.last_closes(last_cycle)
        if last_cycle >= 0:
            decision: Decision | None
            if isinstance(self.strategy, Replayable) and first is not None and 0 <= first <= last_cycle:
                times = self.panel.close_times
                cycles = ((times[k], FeatureView(self.features, k)) for k in range(first, last_cycle + 1))
                decision = self.strategy.replay(cycles)
            else:
                view = FeatureView(self.features, last_cycle)
                decision = self.strategy.decide(self.panel.close_times[last_cycle], view)
            if decision is not None:
                self._last_target = decision.weights

    def _restore_limits(self, curve: Sequence[tuple[datetime, float]], halts: Sequence[HaltChanged]) -> None:
        """Replay the committed equity through the loss limits and re-apply the last halt or reset.

        The kill switch re-arms at an operator's reset from the equity of the last cycle before it, as unhalt did.
        """
        for ts, equity in curve:
            self.risk.observe(ts, session_date(ts), equity)
        if not halts:
            return
        last = halts[-1]
        self.halted = last.reason if last.halted else None
        resets = [e.ts for e in halts if not e.halted]
        if resets:
            before = [equity for ts, equity in curve if ts <= resets[-1]]
            self.risk.kill_switch.reset(before[-1] if before else float(self.ledger.initial_cash))
            for ts, equity in curve:
                if ts > resets[-1]:
                    self.risk.kill_switch.observe(equity)

    def halt(self, reason: str) -> None:
        """Flatten every position and take no new risk until an operator resets (recorded with the cycle)."""
        if self.halted is None:
            self.halted = reason
            self._pending_events.append(HaltChanged(self.clock.now(), True, reason))

    def unhalt(self, reason: str) -> None:
        """Let the strategy trade again after an operator's reset; the kill switch re-arms from here."""
        if self.halted is not None:
            self.halted = None
            self.risk.kill_switch.reset(float(self.ledger.value(self.marks()).equity))
            self._pending_events.append(HaltChanged(self.clock.now(), False, reason))

    def set_observing(self, observe: bool, reason: str) -> None:
        """Switch observe-only on or off from the next decision; recorded with the cycle, so a resume keeps it."""
        if observe != self.observing:
            self.observing = observe
            self._pending_events.append(TradingModeChanged.switched(self.clock.now(), observe, reason))

    def holdings(self) -> Array:
        """Shares held per symbol, in universe order."""
        return self.ledger.holdings()

    def marks(self) -> dict[str, Decimal]:
        """Latest known close of every held symbol, as Decimal."""
        return {s: to_decimal(self._last_close[self._index[s]]) for s in self.ledger.positions}

    def extend(self, panel: Panel, features: Mapping[str, Array]) -> None:
        """Grow a live run by new bars: the features for the grown panel must leave rows already seen
        identical (a feature that changed its past would be look-ahead, and a replay would not match).

        The check reads the last `EXTEND_CHECK_ROWS` rows already seen (a restated row is caught where a
        rebuilt causal feature would restate it, next to the new bars), and the trailing volatility and ATR
        are computed for the new rows from a bounded tail, so a bar's work does not grow with the history.
        """
        old = len(self.panel)
        if panel.symbols != self.panel.symbols or len(panel) < old or panel.ts[old - 1] != self.panel.ts[-1]:
            raise ValueError("extend needs the same symbols and the current panel as its prefix")
        missing = sorted(set(self.features) - set(features))
        if missing:
            raise ValueError(f"extend lacks the features {missing} the strategy reads")
        lo = max(0, old - EXTEND_CHECK_ROWS)
        for name, seen in self.features.items():
            new = features[name]
            if new.shape[0] == len(panel) and same_memory(new[lo:old], seen[lo:old]):
                continue  # a streamed panel grown in place: the rows seen are the very same memory
            if new.shape[0] != len(panel) or not np.array_equal(new[lo:old], seen[lo:old], equal_nan=True):
                raise ValueError(f"feature {name!r} changed rows already seen (or has the wrong length) on extend")
        grown = {name: features[name] for name in self.features}
        ppy = bars_per_year(panel.interval)
        window = self.settings.risk.vol_window
        start = tail_start(panel.prices.close, old, window + 1)
        vol = trailing_volatility_rows(panel.prices.close[start:], old - start, window, ppy)
        self._volatility = grow(self._volatility, vol)
        if self.protector is not None:
            period = self.settings.risk.atr_period
            start = tail_start(panel.prices.close, old, ATR_TAIL_PERIODS * period)
            atr = _traded_atr(panel, period, start)
            self.protector.atr = grow(self.protector.atr, atr[old - start :])
        self.panel, self.features = panel, grown

    def use_strategy(self, strategy: Strategy, features: Mapping[str, Array], event: DomainEvent | None = None) -> None:
        """Trade on a rebuilt strategy from the next cycle (a live session picking up a retrained model).

        The features must cover the current panel; `event` (the reason) is recorded with the next cycle.
        """
        missing = set(strategy.required_features()) - set(features)
        if missing:
            raise ValueError(f"strategy {strategy.name} needs features {sorted(missing)}")
        if any(values.shape[0] != len(self.panel) for values in features.values()):
            raise ValueError("the new strategy's features must cover every row of the current panel")
        self.strategy, self.features = strategy, features
        if event is not None:
            self._pending_events.append(event)
            self.bus.publish(event)

    def set_health(self, name: str, status: Status, message: str, at: datetime) -> None:
        """Record an outside component's health (the live data feed); a change is recorded with the next cycle."""
        event = self._set_health(name, status, message, at)
        if event is not None:
            self._pending_events.append(event)
            self.bus.publish(event)

    def note(self, event: DomainEvent) -> None:
        """Publish an outside event (a live restart, its uptime score); it is recorded with the next cycle."""
        self._pending_events.append(event)
        self.bus.publish(event)

    def _set_health(self, name: str, status: Status, message: str, at: datetime) -> HealthChanged | None:
        """Record a component's state; returns a health event when the status changed."""
        if self.health.set(name, status, message, at) is None:
            return None
        level = logging.INFO if status is Status.OK else logging.WARNING
        log.log(level, "health %s: %s (%s)", name, status.value, message)
        return HealthChanged(at, name, status.value, message)

    def _decide(self, now: datetime, k: int, report: BrokerReport) -> Decision | None:
        """The strategy's decision, or None (hold, take no new risk) when it fails."""
        if self.hold is not None:
            return None  # working exits and stops still fill; halts still flatten
        try:
            decision: Decision | None = self.strategy.decide(now, FeatureView(self.features, k, self.base))
            event = self._set_health("signals", Status.OK, "ok", now)
        except Exception as exc:
            log.exception("strategy %s failed at cycle %d", self.strategy.name, k)
            decision = None
            event = self._set_health("signals", Status.DOWN, f"{type(exc).__name__}: {exc}", now)
        if event is not None:
            report.events.append(event)
        return decision

    def step(self, k: int) -> CycleOutcome:
        """Run cycle k: fill what earlier decisions ordered, mark, decide, size, and submit new orders."""
        started = self._timer()
        if self.recorder is not None:
            self.recorder.settle()  # the last cycle's orders are committed before this bar can fill them
        row = k - self.base  # the panel's row of cycle k (a bounded live panel dropped `base` rows)
        bar = self.panel.bar(row)
        # the events only a recorder or a listener reads are built only for one (a plain backtest has neither)
        recording = self.recorder is not None
        report = BrokerReport(transitions=recording or not self.bus.idle())
        self.clock.advance_to(max(bar.open_time, self.clock.now()))  # quotes inside this bar may have moved it on
        changed: dict[str, Position] = {}
        if self.panel.as_traded is not None:
            self._corporate_actions(row, bar.open_time, report, changed)
        guarded = None
        if self.guard is not None:  # after the splits: quantities and last closes are on this bar's scale
            held, pending = self.holdings(), self.broker.pending_qty()
            peak = self.risk.kill_switch.peak
            cash = float(self.ledger.cash)
            guarded = self.guard.before(bar, peak, cash, held, pending, self._last_close, self.broker, report)
        filled_read = recording or self.bus.wants(OrderFilled.KIND)
        self.broker.on_bars(bar, self.ledger.cash, report)
        for fill in report.fills:
            changed[fill.symbol] = self.ledger.apply(fill)
            if filled_read:
                report.events.append(_filled(fill))
        if self.guard is not None and guarded is not None:
            booked = len(report.fills)
            self.guard.after(k, bar, guarded, self.holdings(), self.broker, report)
            for fill in report.fills[booked:]:
                changed[fill.symbol] = self.ledger.apply(fill)
                if filled_read:
                    report.events.append(_filled(fill))
        if self.protector is not None:
            self.protector.on_fills(report.fills, report.events)

        self.clock.advance_to(bar.close_time)
        now = bar.close_time
        np.copyto(
            self._last_close, bar.close, where=np.isfinite(bar.close)
        )  # a symbol that did not trade keeps its last
        valuation = self.ledger.value_closes(self._last_close)
        equity = float(valuation.equity)

        report.events.extend(self._pending_events)
        self._pending_events = []
        for event in self.risk.observe(now, session_date(now), equity):
            report.events.append(event)
            if isinstance(event, KillSwitchFired):
                self.halt(f"kill switch: drawdown {event.drawdown:.2%} past {self.settings.risk.max_drawdown:.0%}")
            elif self.settings.risk.flatten_on_daily_limit:
                report.events.append(PositionsFlattened(now, "daily_loss_limit"))
        report.events.extend(self._pending_events)
        self._pending_events = []

        decision = self._decide(now, k, report)
        if self.halted is not None:
            decision = _flat(len(self.panel.symbols), self.halted, decision)
        elif decision is not None and self.protector is not None:
            gated = self.protector.gate(decision.weights, now, report.events)
            if gated is not decision.weights:
                decision = replace(decision, weights=gated)
        if decision is not None and self.halted is None:
            decision = self._construct(row, decision)
        plan = RiskPlan()
        held = self.holdings()
        if decision is not None:
            budget = None
            if self.settings.risk.drawdown_budget:
                limit = budget_limit(self.settings.risk.max_drawdown, self.settings.risk.budget_margin)
                budget = budget_fraction(equity, self.risk.kill_switch.peak, limit)
            bad_bar = self._bad_bar_row(row) if budget is not None else None
            inputs = RiskInputs(decision.p_win, decision.payoff, self._volatility[row], budget, bad_bar)
            committed = held + self.broker.pending_qty()
            plan = self.risk.plan(now, decision.weights, self._last_close, committed, equity, inputs)
            report.events.extend(plan.events)
            report.events.extend(decision.events)
            changes = (
                (decision.weights != self._last_target).nonzero()[0]
                if recording or self.bus.wants(SignalChanged.KIND)
                else ()
            )
            for i in changes:
                signal = SignalChanged(
                    now,
                    symbol=self.panel.symbols[i],
                    source=self.strategy.name,
                    target_weight=float(decision.weights[i]),
                    confidence=float(decision.confidence[i]),
                    rationale=decision.explain(int(i)),
                    votes=None if decision.votes is None else tuple(decision.votes(int(i))),
                )
                report.events.append(signal)
            self._last_target = decision.weights
        # observe-only sends nothing new; a halt's flatten still goes out (it only ever reduces risk)
        intents = plan.intents if not self.observing or self.halted is not None else []
        submitted_read = recording or self.bus.wants(OrderSubmitted.KIND)
        for seq, intent in enumerate(intents):
            qty = intent.qty
            if intent.qty != intent.target_qty - held[intent.index]:
                # earlier orders are still working: replace them rather than stack a second order
                self.broker.cancel_symbol(intent.symbol, now, "replaced by a new target", report, keep_exits=True)
                qty = intent.target_qty - int(held[intent.index])
                if qty == 0:
                    continue
            oid, side = order_id(self.run_id, k, seq), Side.BUY if qty > 0 else Side.SELL
            if submitted_read:
                report.events.append(
                    OrderSubmitted(now, oid, intent.symbol, side, abs(qty), OrderType.MARKET, intent.target_weight)
                )
            # a plain DAY market order: the broker keeps it as a record in its columnar lane
            self.broker.submit_market(oid, intent.symbol, side, abs(qty), now, self.strategy.name, report)
        if self.protector is not None:
            self.protector.reconcile(k, now, self.ledger, self.broker, self.broker.pending_qty(), report)

        if recording or self.bus.wants(CycleClosed.KIND):
            report.events.append(
                CycleClosed(
                    now,
                    cycle=k,
                    cash=valuation.cash,
                    equity=valuation.equity,
                    gross_exposure=valuation.gross_exposure,
                    fills=len(report.fills),
                    orders=len(intents),
                )
            )
        quoted = self._take_quoted(changed)
        if self.recorder is not None:
            self._record(
                CycleRecord(
                    cycle=k,
                    ts=now,
                    orders=tuple(_latest([*quoted.orders, *report.orders])),
                    fills=(*quoted.fills, *report.fills),
                    positions=tuple(changed.values()),
                    cash=valuation.cash,
                    market_value=valuation.market_value,
                    equity=valuation.equity,
                    gross_exposure=float(valuation.gross_exposure) / equity if equity > 0 else math.inf,
                    events=(*quoted.events, *report.events),
                )
            )
        if not self.bus.idle():
            for event in report.events:
                self.bus.publish(event)
        self.latency.add(self._timer() - started)
        return CycleOutcome(k, now, valuation, tuple(report.fills))

    def on_quotes(self, ts: datetime, prices: Array, source: str = "quotes") -> Valuation | None:
        """Act on quotes between bar closes: fill the protective stops and take-profits they crossed, mark the
        book at them and let the kill switch and the daily loss limit judge that equity (a kill flattens at once).

        `prices` is one quote per symbol in universe order (NaN: no quote). Nothing is decided: the strategy still
        acts only at bar closes. What happened is committed before it is published (by a recorder that can, under
        the next cycle; else with the next cycle), as fills, order states and events (`QuoteMarked` carries the
        equity the limits saw), so `check` and a resume need no quotes. Returns the
        valuation at the marks, or None for quotes too old to act on (not after the last close).
        """
        prices = np.asarray(prices, dtype=float)
        if prices.shape != self._last_close.shape:
            raise ValueError(f"on_quotes needs {self._last_close.shape[0]} prices, got {prices.shape}")
        if ts <= self.clock.now():  # the last cycle's close (or an earlier quote) is fresher
            return None
        if self.recorder is not None:
            self.recorder.settle()  # the orders a quote can fill are committed first, as at a bar's open
        self.clock.advance_to(ts)
        report = BrokerReport()
        quoted = np.isfinite(prices) & (prices > 0)
        if self.protector is not None:
            self.broker.on_quotes(ts, prices, self.ledger.cash, report, lambda o: is_protective(o.id))
            self._book_quoted(report)
            self.protector.on_fills(report.fills, report.events)
        marks = np.where(quoted, prices, self._last_close)
        valuation = self.ledger.value_closes(marks)
        equity = float(valuation.equity)
        report.events.append(QuoteMarked(ts, equity, int(quoted.sum()), source))
        for event in self.risk.observe(ts, session_date(ts), equity):
            report.events.append(event)
            if isinstance(event, KillSwitchFired):
                self.halt(f"kill switch: drawdown {event.drawdown:.2%} past {self.settings.risk.max_drawdown:.0%}")
                report.events.extend(self._pending_events)
                self._pending_events = []
                self._flatten_at_quotes(ts, prices, quoted, report)
            elif self.settings.risk.flatten_on_daily_limit:
                report.events.append(PositionsFlattened(ts, "daily_loss_limit"))
        self._quoted.orders.extend(report.orders)
        self._quoted.events.extend(report.events)
        self._commit_quoted(ts)  # durable before anyone hears of it: a crash now loses nothing the quotes did
        for event in report.events:
            self.bus.publish(event)
        return self.ledger.value_closes(marks) if report.fills else valuation

    def _commit_quoted(self, ts: datetime) -> None:
        """Store what quotes did since the last commit now, when the recorder can (else the next cycle carries it)."""
        recorder, quoted = self.recorder, self._quoted
        if not isinstance(recorder, QuoteRecorder) or not (quoted.fills or quoted.orders or quoted.events):
            return
        record = QuoteRecord(
            ts,
            tuple(_latest(quoted.orders)),
            tuple(quoted.fills),
            tuple(self._quoted_positions.values()),
            tuple(quoted.events),
        )
        if recorder.record_quotes(record):
            self._quoted = BrokerReport()
            self._quoted_positions = {}

    def _book_quoted(self, report: BrokerReport, start: int = 0) -> None:
        """Book fills made at quotes into the ledger and keep them for the next cycle's record."""
        for fill in report.fills[start:]:
            self._quoted_positions[fill.symbol] = self.ledger.apply(fill)
            report.events.append(_filled(fill))
            self._quoted.fills.append(fill)

    def _flatten_at_quotes(self, ts: datetime, prices: Array, quoted: BoolArray, report: BrokerReport) -> None:
        """The kill switch fired at quotes: close every quoted position now at its quote (with the costs); the
        rest flatten at the next close as a halt does."""
        start = len(report.fills)
        k = self.end
        for symbol, position in sorted(self.ledger.positions.items()):
            i = self._index[symbol]
            if position.qty == 0 or not quoted[i]:
                continue
            self.broker.cancel_symbol(symbol, ts, "kill switch: flattened at the quote", report)
            order = Order(
                id=f"{self.run_id}:{k:08d}:qkill:{symbol}",
                symbol=symbol,
                side=Side.SELL if position.qty > 0 else Side.BUY,
                qty=abs(position.qty),
                type=OrderType.MARKET,
                created_at=ts,
                tif=TimeInForce.DAY,
                tag="kill_switch",
            )
            report.events.append(OrderSubmitted(ts, order.id, symbol, order.side, order.qty, order.type, 0.0))
            self.broker.fill_now(order, float(prices[i]), ts, report)
        self._book_quoted(report, start)
        if len(report.fills) > start:
            report.events.append(PositionsFlattened(ts, "kill_switch"))

    def _take_quoted(self, changed: dict[str, Position]) -> BrokerReport:
        """What quotes changed since the last cycle, handed to this cycle's record (positions merged into changed)."""
        quoted = self._quoted
        if quoted.fills or quoted.orders or quoted.events:
            for symbol, position in self._quoted_positions.items():
                changed.setdefault(symbol, position)
            self._quoted = BrokerReport()
            self._quoted_positions = {}
        return quoted

    def _corporate_actions(self, k: int, at: datetime, report: BrokerReport, changed: dict[str, Position]) -> None:
        """Apply the splits and cash dividends going ex at bar k's open to positions, orders and marks.

        A split of r: shares x r, lot prices / r, cash unchanged (a fractional share is paid at the last
        close / r); working orders are amended by the broker. A dividend credits (or charges a short)
        cash per share held. Each is an event, so `check` and a resume rebuild the ledger exactly.
        """
        traded = self.panel.as_traded
        assert traded is not None
        for i in np.flatnonzero((traded.splits[k] != 1.0) | (traded.dividends[k] != 0.0)):
            symbol = self.panel.symbols[i]
            ratio = float(traded.splits[k, i])
            if ratio != 1.0:
                self._last_close[i] /= ratio
                qty = self.ledger.qty(symbol)
                exact, lieu = split_terms(ratio, self._last_close[i])
                cash = self.ledger.apply_split(symbol, exact, lieu)
                self.broker.apply_split(symbol, exact, at, report)
                report.events.append(SplitApplied(at, symbol, exact, qty, lieu, cash))
                if qty != 0:
                    changed[symbol] = self.ledger.positions.get(symbol, Position(symbol))
            amount = float(traded.dividends[k, i])
            if amount != 0.0 and self.ledger.qty(symbol) != 0:
                per_share, held = to_decimal(amount), self.ledger.qty(symbol)
                paid = self.ledger.apply_dividend(symbol, per_share)
                report.events.append(DividendPaid(at, symbol, per_share, held, paid))
            if amount != 0.0:
                self.broker.apply_dividend(symbol, to_decimal(amount), at, report)

    def _bad_bar_row(self, k: int) -> Array:
        """Cycle k's bad-bar loss factors for the drawdown budget, computed for a block of BAD_BAR_BLOCK rows at a
        time (memory stays bounded; redone when `extend` replaced the panel): the same elementwise floats the plan
        computes from row k alone."""
        cached = self._bad_bar
        if cached is None or cached[0] is not self._volatility or not 0 <= k - cached[1] < len(cached[2]):
            rows = self._volatility[k : k + BAD_BAR_BLOCK]
            cached = self._bad_bar = (self._volatility, k, self.risk.bad_bar(rows))
        row: Array = cached[2][k - cached[1]]
        return row

    def _construct(self, k: int, decision: Decision) -> Decision:
        """The board's odds turned into a book by `risk.construction` (or the decision as it came).

        Only symbols the decision holds (or shorts, where allowed) are sized, so exits and blocks stand.
        """
        mode = self.settings.risk.construction
        if mode == "none" or self._construction_off or decision.p_win is None or decision.payoff is None:
            return decision
        s = self.settings.risk
        mu = expected_returns(decision.p_win, decision.payoff, decision.confidence, self._volatility[k])
        side = np.sign(decision.weights) if s.allow_short else (decision.weights > 0).astype(float)
        mu = np.where(mu > 0, side * mu, 0.0)  # an asset's expected return, signed by the side it is held
        closes = self.panel.prices.close[max(0, k - s.construction_window) : k + 1]
        try:
            built = construct(
                self.panel.symbols,
                mu,
                closes,
                self._last_close,
                s,
                self.risk.settings.sectors,
                self.risk.periods_per_year,
            )
        except ConfigError:
            if mode == "mean_variance":
                raise
            log.warning("risk.construction auto: PyPortfolioOpt is not installed; sizing per symbol")
            self._construction_off = True
            return decision
        if built.weights is None:
            log.debug("construction skipped at cycle %d: %s", k, built.reason)
            return decision
        return replace(decision, weights=np.clip(built.weights, -1.0, 1.0), p_win=None, payoff=None)

    def _record(self, record: CycleRecord) -> None:
        """Hand the cycle to the recorder; a failing database degrades health but loses nothing."""
        assert self.recorder is not None
        try:
            self.recorder.record(record)
            event = self._set_health("database", Status.OK, "ok", record.ts)
        except RecorderBacklogError as exc:
            event = self._set_health("database", Status.DEGRADED, str(exc), record.ts)
        if event is not None:
            self.bus.publish(event)

    def _record_many(self, records: list[CycleRecord]) -> None:
        """`_record` for a sparse run's quiet stretch, handed over at once (a recorder with `record_many`)."""
        assert self.recorder is not None and records
        try:
            self.recorder.record_many(records)  # type: ignore[attr-defined]
            event = self._set_health("database", Status.OK, "ok", records[-1].ts)
        except RecorderBacklogError as exc:
            event = self._set_health("database", Status.DEGRADED, str(exc), records[-1].ts)
        if event is not None:
            self.bus.publish(event)

    def run(
        self,
        first: int = 0,
        pace: Callable[[int], None] | None = None,
        on_cycle: Callable[[CycleOutcome], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        sparse: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> Outcomes:
        """Run cycles first..end in order; pace(k) may wait between them (replay speed).

        sparse: step only the cycles where something can happen when the strategy declares its target panel
        (engine/sparse.py); the outcomes, records and events are identical. Ignored when pace is given.
        progress(k): called with the number of cycles done after each stepped cycle or booked quiet stretch (a
        cheap progress report: on_cycle builds every quiet cycle's outcome).
        """
        if sparse and pace is None:
            targets = target_panel(self)
            if targets is not None:
                self.sparse = SparseStepper(self, targets)
                return self.sparse.run(first, on_cycle, should_stop, progress)
        outcomes = Outcomes()
        for k in range(first, len(self.panel)):
            if should_stop is not None and should_stop():
                break
            if pace is not None and k > first:
                pace(k)
            outcome = self.step(k)
            outcomes.append(outcome)
            if on_cycle is not None:
                on_cycle(outcome)
            if progress is not None:
                progress(k + 1)
        return outcomes


def split_terms(ratio: float, last_close: float) -> tuple[Decimal, Decimal]:
    """A split's exact ratio and its cash-in-lieu price (last close / ratio, to the cent), as the event stores them."""
    lieu = to_decimal(last_close).quantize(CENT) if np.isfinite(last_close) and last_close > 0 else CENT
    return to_decimal(ratio), lieu


def apply_action_event(ledger: Ledger, event: DomainEvent) -> Decimal:
    """Book a split or dividend event into a ledger (`check` and a resume rebuild the engine's bookings with this)."""
    if isinstance(event, SplitApplied):
        return ledger.apply_split(event.symbol, event.ratio, event.cash_in_lieu_price)
    if isinstance(event, DividendPaid):
        return ledger.apply_dividend(event.symbol, event.amount)
    raise ValueError(f"not a corporate action event: {event.kind}")


def _traded_atr(panel: Panel, period: int, start: int = 0) -> Array:
    """ATR from the continuous adjusted series, in the dollars that traded each bar (stop distances), from row
    `start` on (a live tail: Wilder smoothing forgets its seed by (1 - 1/period) a bar)."""
    p = panel.prices
    prices = (
        p
        if start == 0
        else PriceArrays(p.open[start:], p.high[start:], p.low[start:], p.close[start:], p.volume[start:])
    )
    atr = atr_panel(prices, period)
    return atr if panel.as_traded is None else atr / panel.as_traded.factor[start:]


def _flat(n: int, reason: str, ignored: Decision | None) -> Decision:
    """The decision of a halted engine: zero weight everywhere (the ignored one's events, e.g. the monitor's, stay)."""
    events = ignored.events if ignored is not None else ()
    return Decision(np.zeros(n), np.ones(n), lambda _i: f"halted: {reason}", events=events)


def _latest(orders: Iterable[Order]) -> list[Order]:
    """Keep only the final state of each order touched in a cycle."""
    latest: dict[str, Order] = {}
    for order in orders:
        latest[order.id] = order
    return list(latest.values())


def _filled(fill: Fill) -> OrderFilled:
    """The ledger's fill event."""
    return OrderFilled(fill.ts, fill.order_id, fill.seq, fill.symbol, fill.side, fill.qty, fill.price, fill.fee)
