"""Commission and price-impact arithmetic in Decimal, so every cent of cost is accounted exactly."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from papertrader.config.settings import CostSettings
from papertrader.domain.types import Side

CENT = Decimal("0.01")
PRICE_TICK = Decimal("0.0001")
_BPS = Decimal(10_000)


def to_decimal(value: float) -> Decimal:
    """Float to Decimal through its shortest repr, so 97.31 becomes Decimal('97.31'), not its binary tail."""
    return Decimal(repr(float(value)))


def commission(qty: int, price: Decimal, costs: CostSettings) -> Decimal:
    """The broker's fee for one fill, rounded to the cent."""
    notional = price * qty
    if costs.commission_model == "bps":
        fee = notional * to_decimal(costs.commission_bps) / _BPS
    else:
        fee = max(to_decimal(costs.commission_min), to_decimal(costs.commission_per_share) * qty)
        fee = min(fee, notional * to_decimal(costs.commission_max_pct))
    return fee.quantize(CENT, rounding=ROUND_HALF_UP)


def market_fill_price(reference: float, side: Side, costs: CostSettings) -> Decimal:
    """A market order pays half the spread plus slippage, against the trader, on the reference price."""
    adverse_bps = to_decimal(costs.slippage_bps) + to_decimal(costs.spread_bps) / 2
    price = to_decimal(reference) * (1 + side.sign * adverse_bps / _BPS)
    return price.quantize(PRICE_TICK, rounding=ROUND_HALF_UP)


def affordable_qty(qty: int, price: Decimal, cash: Decimal, costs: CostSettings) -> int:
    """Largest quantity up to qty whose cost plus commission the cash covers (a cash account)."""
    if price <= 0:
        return 0
    qty = min(qty, int(cash / price))
    while qty > 0:
        excess = price * qty + commission(qty, price, costs) - cash
        if excess <= 0:
            break
        qty -= max(1, int(excess / price))
    return max(qty, 0)
