"""The drawdown kill switch on real bars: fires on the first cycle past 8%, flattens, then nothing trades.

The drawdown budget and its intrabar guard keep these bars from ever reaching 8%, so the last line is
tested with them switched off (as a gap larger than the allowance would leave it to act).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from papertrader.config.settings import RiskSettings, Settings
from support import EngineFactory


def test_kill_switch_fires_first_cycle_past_threshold_flattens_and_stops_trading(
    etf_daily: pd.DataFrame, engine_factory: EngineFactory
) -> None:
    settings = Settings(risk=RiskSettings(drawdown_budget=False))
    engine, events = engine_factory(etf_daily[etf_daily["ts"] < pd.Timestamp("2004-01-01", tz="UTC")], settings)
    outcomes = engine.run()
    equity = np.array([float(o.valuation.equity) for o in outcomes])
    drawdown = equity / np.maximum.accumulate(equity) - 1
    first_past = int(np.flatnonzero(drawdown < -0.08)[0])

    kills = [e for e in events if e.kind == "risk.kill_switch"]
    assert len(kills) == 1
    assert kills[0].ts == outcomes[first_past].ts
    assert engine.halted and "kill switch" in engine.halted

    after = [e for e in events if e.ts > kills[0].ts]
    assert all(e.payload["side"] == "sell" for e in after if e.kind == "order.submitted"), "only exits"
    held: dict[str, int] = {}
    flat_at = None
    for o in outcomes:
        for f in o.fills:
            held[f.symbol] = held.get(f.symbol, 0) + f.side.sign * f.qty
            assert o.k <= first_past or (f.side.sign < 0 and flat_at is None), "after the kill: exits only"
        if o.k > first_past and flat_at is None and not any(held.values()):
            flat_at = o.k
    assert flat_at is not None and not engine.ledger.positions, "flattened and stays flat"
