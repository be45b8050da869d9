"""Observe-only: the operator can stop orders while signals and risk keep running, and a resume keeps the mode."""

from __future__ import annotations

import pandas as pd

from papertrader.config.settings import RiskSettings, Settings
from papertrader.domain.events import RESTORE_KINDS, TradingModeChanged
from papertrader.engine.control import RunControl
from papertrader.engine.runner import _controlled_pacer
from support import EngineFactory

# only the operator's switch acts in this test: no kill switch, no protective stops
SETTINGS = Settings(risk=RiskSettings(max_drawdown=1.0, protective_stops=False))


def _bars(spy_daily: pd.DataFrame) -> pd.DataFrame:
    return spy_daily[spy_daily["ts"] < pd.Timestamp("2004-01-01", tz="UTC")]


def test_observe_only_sends_no_orders_but_decides_as_before_and_paper_trading_picks_up_again(
    spy_daily: pd.DataFrame, engine_factory: EngineFactory
) -> None:
    bars = _bars(spy_daily)
    reference, ref_events = engine_factory(bars, SETTINGS)
    engine, events = engine_factory(bars, SETTINGS)
    control = RunControl()
    pace = _controlled_pacer(engine.panel, engine, control, paced=False)
    n, back_at = len(engine.panel), 900
    control.request_mode(True)
    for k in range(n):
        if k == back_at:
            control.request_mode(False)
        if k > 0:
            pace(k)
        engine.step(k)
        reference.step(k)
        if k == back_at - 1:
            assert engine.observing and not engine.ledger.positions and not engine.broker.working
    switch_ts = engine.panel.close_times[back_at - 1]
    observed = [e for e in events if e.kind == "order.submitted" and e.ts <= switch_ts]
    assert observed == [], "observe-only never submits an order"
    assert any(e.kind == "order.submitted" for e in ref_events if e.ts <= switch_ts), "the reference did trade"
    assert [(e.ts, e.payload["target_weight"]) for e in events if e.kind == "signal"] == [
        (e.ts, e.payload["target_weight"]) for e in ref_events if e.kind == "signal"
    ], "signals run unchanged"
    assert any(e.kind == "order.submitted" for e in events if e.ts > switch_ts) and not engine.observing
    modes = [e.payload["mode"] for e in events if e.kind == TradingModeChanged.KIND]
    assert modes == ["observe", "paper"]


def test_a_resumed_engine_keeps_observe_only_from_its_committed_events(
    spy_daily: pd.DataFrame, engine_factory: EngineFactory
) -> None:
    bars = _bars(spy_daily)
    engine, events = engine_factory(bars, SETTINGS)
    for k in range(5):
        engine.step(k)
    engine.set_observing(True, "observe-only: no orders")
    engine.step(5)
    fresh, _ = engine_factory(bars, SETTINGS)
    fresh.restore([], [], 5, [e for e in events if e.kind in RESTORE_KINDS])
    assert fresh.observing
    engine.set_observing(False, "paper trading resumed")
    engine.step(6)
    again, _ = engine_factory(bars, SETTINGS)
    again.restore([], [], 6, [e for e in events if e.kind in RESTORE_KINDS])
    assert not again.observing
