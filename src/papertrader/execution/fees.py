"""Commission and price-impact arithmetic in Decimal, so every cent of cost is accounted exactly.

Commission models (`CostSettings.commission_model`), all charged per ORDER on its cumulative execution,
so an order that fills in several pieces pays the schedule once (each fill pays the increment):

- ``per_share`` (default): US discount broker, `commission_per_share` (0.005 USD) with a minimum of
  `commission_min` (1.00) and a cap of `commission_max_pct` (1%) of notional (Interactive Brokers' fixed
  tier shape).
- ``bps``: `commission_bps` basis points of notional.
- ``flat``: `commission_flat` (4.95) per order, whatever its size.
- ``questrade_classic``: Questrade's long-standing stock pricing, 0.01 per share, minimum 4.95,
  maximum 9.95 per trade (source: Questrade's "democratic pricing" as quoted by clients, e.g.
  the-stock-trading-mood.blogspot.com 2009 "1 cent per share, $4.95 min / $9.95 max"), plus ECN fees.
- ``questrade_zero``: no commission on stocks and ETFs (Questrade's commission-free pricing for
  self-directed accounts), ECN fees still apply.

ECN fees (Questrade "ECN fee guide", 2018-07-30) are charged per share on executions that REMOVE
liquidity (market orders, triggered stops, marketable limits); resting limit orders that add liquidity
are free. Canadian listings (.TO, .V): 0.0035 per share at 1.00 and above, 0.0008 below 1.00. US
listings: 0.0040 per share (the NYSE/ARCA/EDGX rate; INET is 0.0030, so this is the conservative end).
Amounts are in the account currency; Questrade charges a Canadian listing in CAD and a US one in USD,
so a single-currency ledger should trade one market per account.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from papertrader.config.settings import CostSettings
from papertrader.domain.calendars import is_canadian
from papertrader.domain.types import Order, Side

CENT = Decimal("0.01")
PRICE_TICK = Decimal("0.0001")
ZERO = Decimal(0)
_BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class QuestradeSchedule:
    """A named Questrade price list: commission per share with a floor and a ceiling, and ECN fees."""

    per_share: Decimal
    minimum: Decimal
    maximum: Decimal
    ecn_ca: Decimal = Decimal("0.0035")
    ecn_ca_sub_dollar: Decimal = Decimal("0.0008")
    ecn_us: Decimal = Decimal("0.0040")


QUESTRADE_CLASSIC = QuestradeSchedule(Decimal("0.01"), Decimal("4.95"), Decimal("9.95"))
QUESTRADE_ZERO = QuestradeSchedule(ZERO, ZERO, ZERO)
QUESTRADE = {"questrade_classic": QUESTRADE_CLASSIC, "questrade_zero": QUESTRADE_ZERO}


def to_decimal(value: float) -> Decimal:
    """Float to Decimal through its shortest repr, so 97.31 becomes Decimal('97.31'), not its binary tail."""
    return Decimal(repr(float(value)))


def order_commission(qty: int, notional: Decimal, costs: CostSettings) -> Decimal:
    """The broker's schedule for an order that has executed qty shares worth notional in total."""
    if qty <= 0:
        return ZERO
    model = costs.commission_model
    if model == "bps":
        fee = notional * to_decimal(costs.commission_bps) / _BPS
    elif model == "flat":
        fee = to_decimal(costs.commission_flat)
    elif model in QUESTRADE:
        schedule = QUESTRADE[model]
        fee = min(max(schedule.per_share * qty, schedule.minimum), schedule.maximum)
    else:
        fee = max(to_decimal(costs.commission_min), to_decimal(costs.commission_per_share) * qty)
        fee = min(fee, notional * to_decimal(costs.commission_max_pct))
    return fee.quantize(CENT, rounding=ROUND_HALF_UP)


def ecn_fee(qty: int, price: Decimal, symbol: str, costs: CostSettings, *, removes_liquidity: bool) -> Decimal:
    """Per-share venue fee a Questrade model passes on for an execution that takes liquidity."""
    schedule = QUESTRADE.get(costs.commission_model)
    if schedule is None or not removes_liquidity or qty <= 0:
        return ZERO
    rate = schedule.ecn_us
    if is_canadian(symbol):
        rate = schedule.ecn_ca if price >= 1 else schedule.ecn_ca_sub_dollar
    return (rate * qty).quantize(CENT, rounding=ROUND_HALF_UP)


def commission(
    qty: int, price: Decimal, costs: CostSettings, *, symbol: str = "", removes_liquidity: bool = True
) -> Decimal:
    """The fee for one order executed in full by a single fill, rounded to the cent."""
    return order_commission(qty, price * qty, costs) + ecn_fee(
        qty, price, symbol, costs, removes_liquidity=removes_liquidity
    )


def fill_fee(order: Order, qty: int, price: Decimal, costs: CostSettings, *, removes_liquidity: bool) -> Decimal:
    """What one more fill of an order costs: the schedule's increment over what its earlier fills paid."""
    before_notional = order.avg_fill_price * order.filled_qty
    before = order_commission(order.filled_qty, before_notional, costs)
    after = order_commission(order.filled_qty + qty, before_notional + price * qty, costs)
    return after - before + ecn_fee(qty, price, order.symbol, costs, removes_liquidity=removes_liquidity)


def adverse_price(reference: Decimal, side: Side, adverse_bps: Decimal) -> Decimal:
    """Move a price against the trader by adverse_bps (buys pay more, sells get less), to the 0.0001."""
    price = reference * (1 + side.sign * adverse_bps / _BPS)
    return price.quantize(PRICE_TICK, rounding=ROUND_HALF_UP)


def market_fill_price(reference: float, side: Side, costs: CostSettings) -> Decimal:
    """A market order pays half the spread plus slippage, against the trader, on the reference price."""
    adverse_bps = to_decimal(costs.slippage_bps) + to_decimal(costs.spread_bps) / 2
    return adverse_price(to_decimal(reference), side, adverse_bps)


def affordable_qty(
    qty: int,
    price: Decimal,
    cash: Decimal,
    costs: CostSettings,
    fee: Callable[[int], Decimal] | None = None,
) -> int:
    """Largest quantity up to qty whose cost plus commission the cash covers (a cash account)."""
    if price <= 0:
        return 0
    fee_of = fee if fee is not None else (lambda q: commission(q, price, costs))
    qty = min(qty, int(cash / price))
    while qty > 0:
        excess = price * qty + fee_of(qty) - cash
        if excess <= 0:
            break
        qty -= max(1, int(excess / price))
    return max(qty, 0)
