"""Buy-and-hold of the same symbols and window, paying the same entry costs, for an honest comparison."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from papertrader.config.settings import CostSettings
from papertrader.core.arrays import Array
from papertrader.domain.types import Side
from papertrader.engine.panel import Panel
from papertrader.execution.fees import affordable_qty, commission, market_fill_price


def buy_and_hold(panel: Panel, initial_cash: float, costs: CostSettings, first: int) -> tuple[Array, Array]:
    """Equity of an equal-weight buy at each symbol's first open after cycle `first`, held to the end.

    Returns (equity, market value of the holdings). Each symbol gets 1/N of the cash, bought at market
    (half spread, slippage, commission) at the first bar it trades after the first decision; until then
    its share sits in cash. Shares are bought at the price that traded (raw prints when the panel has
    them) and marked on the adjusted close over the entry's factor, so splits and dividends (reinvested)
    carry through as a holder of the shares would see them.
    """
    n = len(panel.symbols)
    closes = pd.DataFrame(panel.prices.close).ffill().to_numpy()
    opens = panel.traded.open
    factor = panel.as_traded.factor if panel.as_traded is not None else np.ones_like(closes)
    t = len(panel)
    equity = np.zeros(t - first)
    invested = np.zeros(t - first)
    budget = initial_cash / n
    for j in range(n):
        live = np.flatnonzero(np.isfinite(opens[first + 1 :, j]))
        if live.size == 0:
            equity += budget
            continue
        entry = first + 1 + int(live[0])
        price = market_fill_price(float(opens[entry, j]), Side.BUY, costs)
        cash = Decimal(repr(budget))
        qty = affordable_qty(int(cash / price), price, cash, costs)
        left = float(cash - price * qty - commission(qty, price, costs)) if qty else budget
        held = np.zeros(t - first)
        held[entry - first :] = qty * closes[entry:, j] / factor[entry, j]
        equity += np.where(held > 0, left, budget) + held
        invested += held
    return equity, invested
