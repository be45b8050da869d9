"""A backtest nobody listens to skips building its events and still trades exactly the same.

Engine.step builds SignalChanged, OrderSubmitted, OrderFilled, CycleClosed and the broker's order transitions
only for a recorder or a bus listener of that kind. On real bars (SPY, QQQ, IWM, EEM and SPY alone, with the
drawdown guard and a daily loss limit on), a run with no listener must give the same fills and Decimal
valuations as a run that listens to everything, and a listener of one kind must get exactly the events of
that kind the full run published.
"""

from __future__ import annotations

import pandas as pd
import pytest

from papertrader.config.settings import RiskSettings, Settings
from support import EngineFactory, build_engine

RISK = RiskSettings(max_position_fraction=0.9, max_drawdown=0.3, daily_loss_limit=0.02, etf_cap=1.0)


def _curve(engine) -> list:  # type: ignore[no-untyped-def]
    return [(o.k, o.valuation, o.fills) for o in engine.run()]


@pytest.mark.parametrize("width", ["one", "four"])
def test_unlistened_run_trades_and_values_exactly_as_a_fully_listened_run(
    spy_daily: pd.DataFrame, etf_daily: pd.DataFrame, engine_factory: EngineFactory, width: str
) -> None:
    bars = spy_daily if width == "one" else etf_daily
    bars = bars[bars["ts"] >= pd.Timestamp("2008-01-01", tz="UTC")]
    settings = Settings(risk=RISK)
    heard, everything = engine_factory(bars, settings)
    full = _curve(heard)
    silent, _ = engine_factory(bars, settings)
    silent.bus = type(silent.bus)()  # a bus without handlers: nothing reads the events
    assert silent.bus.idle()
    quiet = _curve(silent)
    assert sum(len(f) for _, _, f in full) > 20
    assert quiet == full
    kinds = {e.kind for e in everything}
    assert {"fill", "order.submitted", "order.accepted", "order.filled", "signal", "cycle"} <= kinds

    for kind in ("fill", "signal", "order.submitted", "cycle"):
        one, _ = build_engine(bars, settings)
        one.bus = type(one.bus)()
        got: list = []
        one.bus.subscribe(got.append, kind)
        assert _curve(one) == full
        assert [(e.ts, dict(e.payload)) for e in got] == [
            (e.ts, dict(e.payload)) for e in everything if e.kind == kind
        ], kind
