"""Frozen value types shared by every package: bars, orders, fills, positions, signals."""

from papertrader.domain.types import (
    Bar,
    Fill,
    Lot,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    Signal,
    TimeInForce,
)

__all__ = [
    "Bar",
    "Fill",
    "Lot",
    "Order",
    "OrderStatus",
    "OrderType",
    "Position",
    "Side",
    "Signal",
    "TimeInForce",
]
