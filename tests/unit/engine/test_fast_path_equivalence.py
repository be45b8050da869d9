"""The engine's fast paths change nothing: real backtests give the same events, fills and equity without them.

RiskEngine.shortcuts=False forces every plan through the array path (no early exit when nothing is held or
wanted, no one-symbol float path). Each pair of runs below must agree on every published event (orders,
fills, signals, risk events, cycle summaries with their Decimal cash and equity) and every cycle's valuation.
"""

from __future__ import annotations

import pandas as pd
import pytest

from papertrader.config.settings import CostSettings, RiskSettings, Settings, StrategySettings
from support import EngineFactory

FREE_RISK = RiskSettings(max_position_fraction=0.9, max_drawdown=1.0, daily_loss_limit=0.02, etf_cap=1.0)


def _run(bars: pd.DataFrame, settings: Settings, factory: EngineFactory, shortcuts: bool) -> tuple[list, list]:
    engine, events = factory(bars, settings)
    engine.risk.shortcuts = shortcuts
    outcomes = engine.run()
    curve = [(o.k, o.valuation, o.fills) for o in outcomes]
    return curve, [(e.ts, e.kind, dict(e.payload)) for e in events]


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(risk=FREE_RISK, costs=CostSettings(commission_model="bps"), strategy=StrategySettings(fast=10)),
    ],
    ids=["defaults", "no-kill-switch"],
)
def test_one_symbol_backtest_is_identical_with_and_without_the_fast_paths(
    spy_daily: pd.DataFrame, engine_factory: EngineFactory, settings: Settings
) -> None:
    fast_curve, fast_events = _run(spy_daily, settings, engine_factory, shortcuts=True)
    slow_curve, slow_events = _run(spy_daily, settings, engine_factory, shortcuts=False)
    assert sum(len(f) for _, _, f in fast_curve) > 20, "enough fills for the comparison to mean something"
    assert fast_curve == slow_curve
    assert fast_events == slow_events


def test_multi_symbol_backtest_is_identical_with_and_without_the_fast_paths(
    etf_daily: pd.DataFrame, engine_factory: EngineFactory
) -> None:
    settings = Settings(risk=FREE_RISK)
    fast_curve, fast_events = _run(etf_daily, settings, engine_factory, shortcuts=True)
    slow_curve, slow_events = _run(etf_daily, settings, engine_factory, shortcuts=False)
    kinds = {kind for _, kind, _ in fast_events}
    assert {"fill", "order.submitted", "signal", "cycle"} <= kinds
    assert fast_curve == slow_curve
    assert fast_events == slow_events
