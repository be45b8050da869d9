"""`Engine.on_quotes` between two closes: only the protective legs a quote crossed fill, at the quote with costs
(never better), market orders wait for the bar, and quotes no newer than the last close are ignored."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from papertrader.domain.events import QuoteMarked, StopExited
from papertrader.domain.types import OrderType, Side
from papertrader.engine.cycle import Engine
from papertrader.engine.protection import is_protective
from support import EngineFactory


def _protected(engine: Engine) -> int:
    """Step real bars until a long position has its protective pair working; the cycle stepped last."""
    for k in range(len(engine.panel) - 1):
        engine.step(k)
        legs = [o for o in engine.broker.working if is_protective(o.id)]
        if legs and engine.ledger.positions:
            return k
    raise AssertionError("the trend strategy never held a protected position on these bars")


def test_a_quote_through_the_take_profit_fills_that_leg_only_at_the_quote_less_costs(
    etf_daily: pd.DataFrame, engine_factory: EngineFactory
) -> None:
    engine, events = engine_factory(etf_daily[etf_daily["ts"] < pd.Timestamp("2012-01-01", tz="UTC")])
    k = _protected(engine)
    take = next(o for o in engine.broker.working if is_protective(o.id) and o.type is OrderType.LIMIT)
    assert take.side is Side.SELL and take.limit_price is not None
    i = engine.panel.symbols.index(take.symbol)
    held_before = engine.ledger.qty(take.symbol)
    others = {o.id for o in engine.broker.working if not is_protective(o.id)}

    # a stale quote (at the last close) does nothing
    assert engine.on_quotes(engine.panel.close_times[k], np.full(len(engine.panel.symbols), 1.0)) is None

    ts = engine.panel.bar(k + 1).open_time + timedelta(minutes=90)  # inside the next session, before its close
    prices = np.full(len(engine.panel.symbols), np.nan)
    quote = float(take.limit_price) * 1.02
    prices[i] = quote
    valuation = engine.on_quotes(ts, prices, "test")

    assert valuation is not None
    assert engine.ledger.qty(take.symbol) == held_before - take.qty
    fill = engine._quoted.fills[-1]
    assert fill.ts == ts and fill.order_id == take.id
    assert take.limit_price <= fill.price and float(fill.price) <= quote, "never above the quote, never below the limit"
    assert float(fill.price) >= quote * 0.99, "only the spread and slippage are charged"
    assert all(o.id != take.id and o.oco_group != take.oco_group for o in engine.broker.working), "OCO: stop gone"
    assert others <= {o.id for o in engine.broker.working}, "market orders wait for the next bar's open"
    kinds = [e for e in events if isinstance(e, StopExited | QuoteMarked)]
    assert [type(e) for e in kinds] == [StopExited, QuoteMarked]

    # the next cycle commits what the quotes did and steps on from there (its open is before the quote)
    outcome = engine.step(k + 1)
    assert outcome.ts > ts and engine._quoted.fills == []
