"""Every fill happens after its decision, at the open of a bar the decision had not seen."""

from __future__ import annotations

import pandas as pd

from papertrader.engine.guard import is_guard_exit
from papertrader.engine.protection import is_protective
from papertrader.execution.fees import market_fill_price
from support import EngineFactory


def test_fills_use_the_next_bar_open_never_a_price_the_decision_saw(
    etf_daily: pd.DataFrame, engine_factory: EngineFactory
) -> None:
    engine, events = engine_factory(etf_daily[etf_daily["ts"] < pd.Timestamp("2010-01-01", tz="UTC")])
    outcomes = engine.run()
    submitted = {e.payload["order_id"]: e for e in events if e.kind == "order.submitted"}
    panel = engine.panel
    checked = 0
    for outcome in outcomes:
        for fill in outcome.fills:
            decided_k = int(fill.order_id.split(":")[1])
            if is_protective(fill.order_id):  # a stop or take-profit placed at bar decided_k's close
                assert outcome.k > decided_k, "a protective exit works only from the bar after it was placed"
                continue
            if is_guard_exit(fill.order_id):  # the drawdown guard: a level set from this bar's own open
                j = panel.symbols.index(fill.symbol)
                assert outcome.k == decided_k and fill.ts == panel.bar(outcome.k).open_time
                assert fill.price <= market_fill_price(
                    panel.prices.open[outcome.k, j], fill.side, engine.settings.costs
                )
                continue
            decision = submitted[fill.order_id]
            assert fill.ts > decision.ts, "a fill must come after the decision"
            assert outcome.k == decided_k + 1 or outcome.k > decided_k, "never on the decision's own bar"
            j = panel.symbols.index(fill.symbol)
            bar_open = panel.prices.open[outcome.k, j]
            assert fill.price == market_fill_price(bar_open, fill.side, engine.settings.costs)
            assert fill.ts == panel.bar(outcome.k).open_time
            checked += 1
    assert checked > 20
