from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from papertrader.core.errors import InvalidTransitionError
from papertrader.domain.types import Order, OrderStatus, OrderType, Position, Side

T0 = datetime(2020, 1, 2, 21, 0, tzinfo=UTC)


def _order(qty: int = 100) -> Order:
    return Order("o1", "SPY", Side.BUY, qty, OrderType.MARKET, T0)


def test_order_moves_new_accepted_partial_filled_with_vwap() -> None:
    order = _order().accept(T0)
    order = order.fill(40, Decimal("10"), T0)
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.remaining == 60
    order = order.fill(60, Decimal("11"), T0)
    assert order.status is OrderStatus.FILLED
    assert order.avg_fill_price == Decimal("10.6")


@pytest.mark.parametrize("terminal", ["cancel", "expire"])
def test_terminal_orders_refuse_every_further_transition(terminal: str) -> None:
    order = getattr(_order().accept(T0), terminal)(T0, "because")
    assert order.status.is_terminal and order.reason == "because"
    with pytest.raises(InvalidTransitionError):
        order.fill(1, Decimal(1), T0)
    with pytest.raises(InvalidTransitionError):
        order.cancel(T0, "again")


def test_new_order_cannot_fill_before_acceptance_and_can_be_rejected() -> None:
    with pytest.raises(InvalidTransitionError):
        _order().fill(1, Decimal(1), T0)
    assert _order().reject(T0, "no cash").status is OrderStatus.REJECTED


def test_overfill_is_refused() -> None:
    with pytest.raises(InvalidTransitionError):
        _order(10).accept(T0).fill(11, Decimal(1), T0)


def test_limit_order_requires_positive_price() -> None:
    with pytest.raises(ValueError):
        Order("o", "SPY", Side.BUY, 1, OrderType.LIMIT, T0)


def test_position_realises_pnl_on_reduce_and_flip() -> None:
    pos = Position("SPY").apply(Side.BUY, 10, Decimal("100"))
    pos = pos.apply(Side.SELL, 4, Decimal("110"))
    assert pos.qty == 6 and pos.realized_pnl == Decimal("40") and pos.avg_price == Decimal("100")
    pos = pos.apply(Side.SELL, 10, Decimal("90"))
    assert pos.qty == -4 and pos.realized_pnl == Decimal("-20") and pos.avg_price == Decimal("90")
    pos = pos.apply(Side.BUY, 4, Decimal("80"))
    assert pos.qty == 0 and pos.realized_pnl == Decimal("20")
