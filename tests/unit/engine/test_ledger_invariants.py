"""Cash + market value = equity on every cycle, and every fill and fee is accounted, exactly."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from papertrader.execution.fees import to_decimal
from support import EngineFactory


def test_ledger_invariants_hold_on_every_cycle(etf_daily: pd.DataFrame, engine_factory: EngineFactory) -> None:
    engine, _ = engine_factory(etf_daily[etf_daily["ts"] < pd.Timestamp("2008-01-01", tz="UTC")])
    initial = engine.ledger.initial_cash
    cash_moves = Decimal(0)
    fees = Decimal(0)
    for k in range(len(engine.panel)):
        outcome = engine.step(k)
        for fill in outcome.fills:
            cash_moves += fill.cash_delta
            fees += fill.fee
        value = outcome.valuation
        marks = engine.marks()
        held = sum((marks[s] * p.qty for s, p in engine.ledger.positions.items()), Decimal(0))
        assert value.market_value == held
        assert value.equity == value.cash + value.market_value
        assert value.cash == initial + cash_moves == engine.ledger.cash
        assert engine.ledger.fees_paid == fees
        assert value.cash >= 0, "a cash account never goes negative"
        for symbol, pos in engine.ledger.positions.items():
            assert pos.qty > 0, "long-only by default"
            assert marks[symbol] == to_decimal(engine._last_close[engine.panel.symbols.index(symbol)])
