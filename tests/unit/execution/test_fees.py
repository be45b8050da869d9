from __future__ import annotations

from decimal import Decimal

from papertrader.config.settings import CostSettings
from papertrader.domain.types import Side
from papertrader.execution.fees import affordable_qty, commission, market_fill_price, to_decimal


def test_per_share_commission_has_minimum_and_percentage_cap() -> None:
    costs = CostSettings()
    assert commission(10, Decimal("50"), costs) == Decimal("1.00")  # 10 x 0.005 = 0.05 -> minimum $1
    assert commission(1000, Decimal("50"), costs) == Decimal("5.00")
    assert commission(100, Decimal("0.50"), costs) == Decimal("0.50")  # capped at 1% of $50


def test_bps_commission_is_a_fraction_of_notional() -> None:
    costs = CostSettings(commission_model="bps", commission_bps=10)
    assert commission(100, Decimal("100"), costs) == Decimal("10.00")


def test_market_fill_pays_half_spread_plus_slippage_against_the_trader() -> None:
    costs = CostSettings(slippage_bps=5, spread_bps=2)
    assert market_fill_price(100.0, Side.BUY, costs) == Decimal("100.0600")
    assert market_fill_price(100.0, Side.SELL, costs) == Decimal("99.9400")


def test_decimal_conversion_keeps_the_printed_price() -> None:
    assert to_decimal(97.31) == Decimal("97.31")


def test_affordable_qty_never_exceeds_cash_including_commission() -> None:
    costs = CostSettings()
    price = Decimal("33.33")
    for cash in (Decimal("0"), Decimal("1"), Decimal("34.33"), Decimal("10000"), Decimal("99999.99")):
        qty = affordable_qty(10**6, price, cash, costs)
        assert qty >= 0
        if qty:
            assert price * qty + commission(qty, price, costs) <= cash
        assert price * (qty + 1) + commission(qty + 1, price, costs) > cash
