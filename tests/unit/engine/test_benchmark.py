"""Buy-and-hold pays the same entry costs and is computed over the same window as the strategy."""

from __future__ import annotations

import pandas as pd
import pytest

from papertrader.config.settings import CostSettings
from papertrader.engine.benchmark import buy_and_hold
from papertrader.engine.panel import Panel


def test_buy_and_hold_buys_at_the_next_open_with_costs_and_marks_at_close(spy_daily: pd.DataFrame) -> None:
    panel = Panel.from_long(spy_daily.iloc[:300], "1d")
    costs = CostSettings()
    equity, invested = buy_and_hold(panel, 100_000.0, costs, first=10)
    open_, close = spy_daily["open"].to_numpy(), spy_daily["close"].to_numpy()
    price = round(open_[11] * (1 + 6e-4), 4)
    qty = int(100_000 // (price * 1.0001))
    while qty * price + max(1.0, 0.005 * qty) > 100_000:
        qty -= 1
    fee = round(max(1.0, 0.005 * qty), 2)
    assert equity[0] == 100_000.0 and invested[0] == 0
    assert equity[1] == pytest.approx(100_000 - qty * price - fee + qty * close[11], abs=1e-6)
    assert equity[-1] == pytest.approx(100_000 - qty * price - fee + qty * close[299], abs=1e-6)
    assert invested[-1] == pytest.approx(qty * close[299])
