from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from papertrader.domain.types import Fill, Side
from papertrader.portfolio.metrics import max_drawdown, round_trip_pnls, sharpe, sortino, summarize

T0 = datetime(2020, 1, 2, tzinfo=UTC)


def test_max_drawdown_is_worst_peak_to_trough() -> None:
    assert max_drawdown(np.array([100, 120, 90, 130, 65.0])) == pytest.approx(-0.5)


def test_sharpe_matches_hand_computation() -> None:
    rets = np.array([0.01, -0.005, 0.002, 0.004])
    expected = rets.mean() / rets.std(ddof=1) * math.sqrt(252)
    assert sharpe(rets, 252) == pytest.approx(expected)


def test_sortino_ignores_upside_volatility() -> None:
    calm = np.array([0.01, -0.01, 0.01, -0.01])
    wild_up = np.array([0.05, -0.01, 0.05, -0.01])
    assert sortino(wild_up, 252) > sortino(calm, 252)


def test_round_trips_net_fees_and_hit_rate() -> None:
    fills = [
        Fill("a", "X", Side.BUY, 10, Decimal(10), Decimal(1), T0, 1),
        Fill("b", "X", Side.SELL, 10, Decimal(12), Decimal(1), T0, 2),
        Fill("c", "X", Side.BUY, 10, Decimal(10), Decimal(1), T0, 3),
        Fill("d", "X", Side.SELL, 10, Decimal("10.1"), Decimal(1), T0, 4),
    ]
    assert round_trip_pnls(fills) == [18.0, -1.0]
    m = summarize(np.array([100.0, 101.0, 102.0]), np.array([0.0, 50.0, 0.0]), fills, 252)
    assert m.round_trips == 2 and m.hit_rate == 0.5 and m.trades == 4 and m.fees_paid == 4.0
    assert m.total_return == pytest.approx(0.02)
