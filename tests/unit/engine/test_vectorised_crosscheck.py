"""The engine's backtest equals an independent pandas computation of the same rules and costs.

The reference below shares no code with the engine: moving averages from pandas rolling means (not
TA-Lib), costs and commissions re-derived in floats, positions and cash built with cumulative sums.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from papertrader.config.settings import CostSettings, RiskSettings, Settings, StrategySettings
from support import EngineFactory

COSTS = CostSettings(slippage_bps=5, spread_bps=2, commission_per_share=0.005, commission_min=1.0)
WEIGHT = 0.9


def _commission(qty: int, price: float) -> float:
    fee = max(COSTS.commission_min, COSTS.commission_per_share * qty)
    fee = min(fee, COSTS.commission_max_pct * qty * price)
    return _round_half_up(fee, 2)


def _round_half_up(x: float, places: int) -> float:
    scale = 10**places
    return math.floor(x * scale + 0.5 + 1e-6) / scale


def _reference(bars: pd.DataFrame, cash0: float) -> tuple[pd.Series, list[tuple[int, int, float]]]:
    close, open_ = bars["close"].to_numpy(), bars["open"].to_numpy()
    fast = bars["close"].rolling(20).mean()
    slow = bars["close"].rolling(50).mean()
    want = ((fast > slow) & slow.notna()).to_numpy()
    changes = np.flatnonzero(want != np.concatenate([[False], want[:-1]]))
    adverse = (COSTS.slippage_bps + COSTS.spread_bps / 2) / 1e4
    qty_delta = np.zeros(len(bars))
    cash_delta = np.zeros(len(bars))
    fills: list[tuple[int, int, float]] = []
    cash, held = cash0, 0
    for k in changes:
        if k + 1 >= len(bars):
            break
        if want[k]:
            equity = cash  # flat before an entry
            qty = math.trunc(WEIGHT * equity / close[k])
            price = _round_half_up(open_[k + 1] * (1 + adverse), 4)
            while qty > 0 and qty * price + _commission(qty, price) > cash:
                qty -= 1
        else:
            qty = -held
            price = _round_half_up(open_[k + 1] * (1 - adverse), 4)
        fee = _commission(abs(qty), price)
        cash += -qty * price - fee
        held += qty
        qty_delta[k + 1] += qty
        cash_delta[k + 1] += -qty * price - fee
        fills.append((int(k) + 1, qty, price))
    position = np.cumsum(qty_delta)
    equity = cash0 + np.cumsum(cash_delta) + position * close
    return pd.Series(equity, index=bars["ts"]), fills


def test_engine_equals_independent_vectorised_backtest_on_real_spy(
    spy_daily: pd.DataFrame, engine_factory: EngineFactory
) -> None:
    # one symbol: the baseline's equal weight is 1.0 and the position cap makes it WEIGHT
    settings = Settings(
        costs=COSTS,
        # the same rules as the reference: one fixed fraction, no volatility scaling, buckets, loss limits or stops
        risk=RiskSettings(
            max_position_fraction=WEIGHT,
            max_gross_exposure=1.0,
            min_order_notional=0,
            max_order_fraction=1.0,
            vol_target=None,
            etf_cap=1.0,
            cash_reserve=0.0,
            daily_loss_limit=1.0,
            max_drawdown=1.0,
            limit_tolerance=1.0,
            protective_stops=False,
        ),
        strategy=StrategySettings(fast=20, slow=50, rebalance_band=10.0),
    )
    engine, _ = engine_factory(spy_daily, settings)
    outcomes = engine.run()
    engine_equity = np.array([float(o.valuation.equity) for o in outcomes])
    engine_fills = [(o.k, f.side.sign * f.qty, float(f.price)) for o in outcomes for f in o.fills]

    ref_equity, ref_fills = _reference(spy_daily.reset_index(drop=True), settings.initial_cash)

    assert len(ref_fills) > 50, "enough round trips over 23 years to make the check meaningful"
    assert engine_fills == ref_fills
    np.testing.assert_allclose(engine_equity, ref_equity.to_numpy(), rtol=0, atol=1e-6)
    assert engine_equity[-1] == pytest.approx(ref_equity.iloc[-1], abs=1e-6)
