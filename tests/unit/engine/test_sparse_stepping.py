"""Engine.run(sparse=True) on real daily bars: the same outcomes, published events and final state as stepping
every cycle, also when the run is stopped in the middle of a quiet stretch; a strategy without decide_all steps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd

from papertrader.config.settings import RiskSettings, Settings
from papertrader.engine.cycle import CycleOutcome, Engine
from papertrader.features.view import FeatureView
from papertrader.signals.base import Decision
from support import build_engine, load_shared_daily


def _bars() -> pd.DataFrame:
    bars = pd.concat([load_shared_daily(s) for s in ("AAPL", "IBM", "SPY")], ignore_index=True)
    ts = pd.to_datetime(bars["ts"], utc=True)
    return bars[(ts >= pd.Timestamp("2006-01-01", tz="UTC")) & (ts < pd.Timestamp("2009-06-01", tz="UTC"))]


def _settings() -> Settings:
    return Settings(risk=RiskSettings(max_drawdown=0.1, daily_loss_limit=0.02))


def _trace(outcomes: list[CycleOutcome]) -> list[tuple[int, datetime, Decimal, Decimal, Decimal, tuple[str, ...]]]:
    v = [(o.k, o.ts, o.valuation.cash, o.valuation.market_value, o.valuation.gross_exposure) for o in outcomes]
    return [(*row, tuple(repr(f) for f in o.fills)) for row, o in zip(v, outcomes, strict=True)]


def _state(engine: Engine) -> tuple[object, ...]:
    kill, daily = engine.risk.kill_switch, engine.risk.daily
    return (
        engine.ledger.cash,
        dict(engine.ledger.positions),
        tuple(o.id for o in engine.broker.working),
        kill.peak,
        kill.fired_at_drawdown,
        daily.session,
        daily.start_equity,
        daily.last_equity,
        engine.halted,
        engine.clock.now(),
        tuple(engine._last_close.tolist()),
    )


def test_sparse_run_equals_every_cycle_in_outcomes_events_and_final_state_on_real_bars() -> None:
    bars = _bars()
    full, full_events = build_engine(bars, _settings())
    sparse, sparse_events = build_engine(bars, _settings())
    a = full.run()
    b = sparse.run(sparse=True)
    assert sparse.sparse is not None and sparse.sparse.skipped > len(b) // 3
    assert _trace(a) == _trace(b)
    assert [repr(e) for e in full_events] == [repr(e) for e in sparse_events]
    assert _state(full) == _state(sparse)


def test_a_stop_inside_a_quiet_stretch_leaves_the_state_of_the_last_cycle_run() -> None:
    bars = _bars()
    reference, _ = build_engine(bars, _settings())
    everything = reference.run(sparse=True)
    assert reference.sparse is not None
    # stop well inside the run, wherever it falls
    cut = len(everything) // 2 + 7

    def stopper(runs: list[CycleOutcome]) -> Callable[[], bool]:
        return lambda: len(runs) >= cut

    full, _ = build_engine(bars, _settings())
    seen_full: list[CycleOutcome] = []
    full.run(on_cycle=seen_full.append, should_stop=stopper(seen_full))
    sparse, _ = build_engine(bars, _settings())
    seen: list[CycleOutcome] = []
    sparse.run(on_cycle=seen.append, should_stop=stopper(seen), sparse=True)
    assert len(seen) == len(seen_full) == cut
    assert _trace(seen) == _trace(seen_full)
    assert _state(full) == _state(sparse)


class _NoPanel:
    """A strategy with only the per-cycle decide: nothing to skip on."""

    name = "no_panel"

    def __init__(self, n: int) -> None:
        self.n = n

    def required_features(self) -> tuple[str, ...]:
        return ()

    def decide(self, ts: datetime, view: FeatureView) -> Decision:
        return Decision(np.full(self.n, 1.0 / self.n), np.ones(self.n), lambda _i: "hold all")


def test_a_strategy_without_decide_all_steps_every_cycle() -> None:
    engine, _ = build_engine(_bars(), _settings())
    engine.strategy = _NoPanel(len(engine.panel.symbols))
    outcomes = engine.run(sparse=True)
    assert engine.sparse is None
    assert len(outcomes) == len(engine.panel)
