"""A held cycle (live data missing or stale) takes no new risk, yet a halt still flattens what is held."""

from __future__ import annotations

import pandas as pd

from support import EngineFactory


def test_a_held_engine_submits_no_new_orders_but_a_halt_still_flattens(
    spy_daily: pd.DataFrame, engine_factory: EngineFactory
) -> None:
    bars = spy_daily[(spy_daily["ts"] >= "2003-01-01") & (spy_daily["ts"] < "2004-01-01")]
    engine, events = engine_factory(bars)
    k = 0
    while not engine.ledger.positions:  # trade until the trend baseline holds SPY
        engine.step(k)
        k += 1
    engine.hold = "data: no bar for SPY"
    before = sum(e.kind == "order.submitted" for e in events)
    for _ in range(5):
        engine.step(k)
        k += 1
    assert sum(e.kind == "order.submitted" for e in events) == before
    engine.halt("operator flatten")
    engine.step(k)
    engine.step(k + 1)
    sells = [e for e in events if e.kind == "order.submitted" and e.payload["side"] == "sell"]
    assert sells and not engine.ledger.positions
