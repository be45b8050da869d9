"""Every commission model charges its documented schedule, once per order however the order fills."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from papertrader.config.settings import CostSettings
from papertrader.domain.types import Order, OrderType, Side
from papertrader.execution.fees import commission, ecn_fee, fill_fee, order_commission

T0 = datetime(2020, 1, 6, 15, tzinfo=UTC)
P = Decimal("50")


def test_flat_model_charges_one_fee_per_order_whatever_its_size() -> None:
    costs = CostSettings(commission_model="flat", commission_flat=4.95)
    assert commission(1, P, costs) == commission(10_000, P, costs) == Decimal("4.95")


@pytest.mark.parametrize(
    "qty,fee",
    [(100, "4.95"), (495, "4.95"), (700, "7.00"), (995, "9.95"), (5_000, "9.95")],
)
def test_questrade_classic_is_a_cent_a_share_between_4_95_and_9_95(qty: int, fee: str) -> None:
    costs = CostSettings(commission_model="questrade_classic")
    assert order_commission(qty, P * qty, costs) == Decimal(fee)
    assert commission(qty, P, costs, symbol="RY.TO", removes_liquidity=False) == Decimal(fee)


def test_questrade_ecn_fees_apply_only_when_removing_liquidity() -> None:
    costs = CostSettings(commission_model="questrade_zero")
    assert commission(1_000, P, costs, symbol="RY.TO", removes_liquidity=True) == Decimal("3.50")
    assert commission(1_000, Decimal("0.50"), costs, symbol="ABC.V", removes_liquidity=True) == Decimal("0.80")
    assert commission(1_000, P, costs, symbol="SPY", removes_liquidity=True) == Decimal("4.00")
    assert commission(1_000, P, costs, symbol="RY.TO", removes_liquidity=False) == Decimal("0.00")
    assert ecn_fee(1_000, P, "SPY", CostSettings(), removes_liquidity=True) == Decimal(0), "only Questrade models"


def test_per_share_and_bps_defaults_are_unchanged() -> None:
    assert commission(10, P, CostSettings()) == Decimal("1.00")
    assert commission(1_000, P, CostSettings()) == Decimal("5.00")
    assert commission(100, P, CostSettings(commission_model="bps", commission_bps=10)) == Decimal("5.00")


@pytest.mark.parametrize("model", ["per_share", "bps", "flat", "questrade_classic"])
def test_fees_of_partial_fills_add_up_to_the_fee_of_the_whole_order(model: str) -> None:
    costs = CostSettings(commission_model=model)  # type: ignore[arg-type]
    order = Order("o", "SPY", Side.BUY, 900, OrderType.MARKET, T0).accept(T0)
    total = Decimal(0)
    for qty, price in ((100, Decimal("50.00")), (300, Decimal("50.10")), (500, Decimal("49.95"))):
        total += fill_fee(order, qty, price, costs, removes_liquidity=False)
        order = order.fill(qty, price, T0)
    notional = Decimal("50.00") * 100 + Decimal("50.10") * 300 + Decimal("49.95") * 500
    assert total == order_commission(900, notional, costs)
