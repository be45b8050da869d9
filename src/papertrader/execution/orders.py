"""Builders for compound orders, so a bracket's three legs are always linked the same way."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from papertrader.domain.types import Order, OrderType, Side, TimeInForce


def bracket(
    order_id: str,
    symbol: str,
    side: Side,
    qty: int,
    created_at: datetime,
    *,
    stop_loss: Decimal,
    take_profit: Decimal,
    entry_limit: Decimal | None = None,
    tif: TimeInForce = TimeInForce.DAY,
    exit_tif: TimeInForce = TimeInForce.GTC,
    tag: str = "",
) -> tuple[Order, Order, Order]:
    """An entry (market, or limit when entry_limit is given) with a stop-loss and a take-profit in one OCO group.

    The exits are ids `<id>.sl` and `<id>.tp`, the opposite side of the entry, and work only once the
    entry has filled (see PaperBroker). Keep exit_tif GTC: a DAY exit's session is the entry's, so it
    would expire with the entry's day.
    """
    if side is Side.BUY and not stop_loss < take_profit:
        raise ValueError(f"bracket {order_id}: a long needs stop_loss {stop_loss} below take_profit {take_profit}")
    if side is Side.SELL and not take_profit < stop_loss:
        raise ValueError(f"bracket {order_id}: a short needs take_profit {take_profit} below stop_loss {stop_loss}")
    entry = Order(
        order_id,
        symbol,
        side,
        qty,
        OrderType.LIMIT if entry_limit is not None else OrderType.MARKET,
        created_at,
        limit_price=entry_limit,
        tif=tif,
        tag=tag,
    )
    exit_side = Side.SELL if side is Side.BUY else Side.BUY
    group = f"{order_id}.oco"
    sl = Order(
        f"{order_id}.sl",
        symbol,
        exit_side,
        qty,
        OrderType.STOP,
        created_at,
        tif=exit_tif,
        tag=tag,
        stop_price=stop_loss,
        parent_id=order_id,
        oco_group=group,
    )
    tp = Order(
        f"{order_id}.tp",
        symbol,
        exit_side,
        qty,
        OrderType.LIMIT,
        created_at,
        limit_price=take_profit,
        tif=exit_tif,
        tag=tag,
        parent_id=order_id,
        oco_group=group,
    )
    return entry, sl, tp
