"""The next-bar-open rule: fills at t+1's open with the project's fees; constant long is buy-and-hold."""

from __future__ import annotations

import numpy as np
import pytest
from models_bars import market

from papertrader.config.settings import CostSettings
from papertrader.domain.types import Side
from papertrader.execution.fees import commission, market_fill_price
from papertrader.models.trading import backtest_rule, combine_runs, positions_from_probs


def test_constant_long_pays_entry_costs_once_and_then_tracks_the_open_prices() -> None:
    m = market()
    rows = np.arange(300, 400, dtype=np.int64)
    costs = CostSettings()
    run = backtest_rule(np.ones((rows.size, 2)), rows, m.opens, m.closes, costs, 252.0)
    assert run.scores.trades == 2
    sleeve = 50_000.0
    cash, qty = np.zeros(2), np.zeros(2)
    for j in range(2):
        ref = float(m.opens[301, j])
        price = market_fill_price(ref, Side.BUY, costs)
        qty[j] = int(sleeve / ref)
        cash[j] = sleeve - qty[j] * float(price) - float(commission(int(qty[j]), price, costs))
    # marked at each fill open: the entry costs show once, then only the open prices move the curve
    expected = cash.sum() + (qty * m.opens[rows + 1]).sum(axis=1)
    np.testing.assert_allclose(run.equity[:-1], expected, rtol=1e-12)
    assert run.scores.fees == pytest.approx(
        sum(
            float(commission(int(q), market_fill_price(float(m.opens[301, j]), Side.BUY, costs), costs))
            for j, q in enumerate(qty)
        )
    )


def test_costs_make_churning_worse_than_holding() -> None:
    m = market()
    rows = np.arange(300, 500, dtype=np.int64)
    hold = backtest_rule(np.ones((rows.size, 2)), rows, m.opens, m.closes, CostSettings(), 252.0)
    flip = np.tile(np.array([[1.0], [0.0]]), (rows.size // 2, 2))
    churn = backtest_rule(flip, rows, m.opens, m.closes, CostSettings(), 252.0)
    free = backtest_rule(
        flip,
        rows,
        m.opens,
        m.closes,
        CostSettings(commission_min=0, commission_per_share=0, slippage_bps=0, spread_bps=0),
        252.0,
    )
    assert churn.scores.trades > 150 and churn.scores.fees > 100
    assert churn.scores.total_return < free.scores.total_return
    assert hold.scores.trades == 2


def test_a_decision_at_t_earns_the_move_from_the_next_open_to_the_one_after() -> None:
    m = market()
    rows = np.arange(300, 302, dtype=np.int64)
    zero = CostSettings(commission_min=0, commission_per_share=0, slippage_bps=0, spread_bps=0)
    targets = np.array([[1.0, 0.0], [1.0, 0.0]])
    run = backtest_rule(targets, rows, m.opens, m.closes, zero, 252.0)
    o = m.opens[:, 0]
    qty = int(50_000.0 / o[301])
    expected = 50_000.0 + qty * (o[303] - o[301]) + 50_000.0
    assert run.equity[-1] == pytest.approx(expected)


def test_positions_from_probs_and_chained_folds() -> None:
    probs = np.array([[0.6, 0.1, 0.3], [0.2, 0.1, 0.7], [0.3, 0.4, 0.3]])
    np.testing.assert_array_equal(positions_from_probs(probs, 2, 0, False), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(positions_from_probs(probs, 2, 0, True), [-1.0, 1.0, 0.0])
    m = market()
    rows_a, rows_b = np.arange(300, 350), np.arange(350, 400)
    a = backtest_rule(np.ones((50, 2)), rows_a, m.opens, m.closes, CostSettings(), 252.0)
    b = backtest_rule(np.ones((50, 2)), rows_b, m.opens, m.closes, CostSettings(), 252.0)
    both = combine_runs([a, b], 252.0)
    assert both.total_return == pytest.approx((1 + a.scores.total_return) * (1 + b.scores.total_return) - 1)
