"""Lifecycle steps copy an order without re-validating it, and carry every field they do not change."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from papertrader.core.errors import InvalidTransitionError
from papertrader.domain.types import Order, OrderStatus, OrderType, Side, TimeInForce

T0 = datetime(2020, 1, 2, 15, tzinfo=UTC)


def _stop_limit() -> Order:
    return Order(
        "o1",
        "SPY",
        Side.SELL,
        10,
        OrderType.STOP_LIMIT,
        T0,
        limit_price=Decimal("99.50"),
        tif=TimeInForce.GTC,
        tag="t",
        stop_price=Decimal("100.00"),
        parent_id="p",
        oco_group="g",
        replaces="o0",
        extended_hours=True,
    )


def test_each_step_changes_only_its_own_fields() -> None:
    order = _stop_limit()
    accepted = order.accept(T0)
    triggered = accepted.trigger(T0 + timedelta(hours=1), "stop reached")
    filled = triggered.fill(4, Decimal("99.6000"), T0 + timedelta(hours=2))
    changed = {
        accepted: {"status", "updated_at", "reason"},
        triggered: {"status", "updated_at", "reason", "triggered_at"},
        filled: {"status", "updated_at", "reason", "triggered_at", "filled_qty", "avg_fill_price"},
    }
    for step, names in changed.items():
        for f in fields(Order):
            if f.name not in names:
                assert getattr(step, f.name) == getattr(order, f.name), f.name
    assert filled.status is OrderStatus.PARTIALLY_FILLED and filled.remaining == 6
    assert filled.avg_fill_price == Decimal("99.6000")
    assert filled == Order(**{f.name: getattr(filled, f.name) for f in fields(Order)})


def test_the_state_machine_and_fill_sizes_are_still_enforced() -> None:
    accepted = _stop_limit().accept(T0)
    with pytest.raises(InvalidTransitionError):
        accepted.accept(T0)
    with pytest.raises(InvalidTransitionError):
        accepted.fill(11, Decimal("99.6000"), T0)
    done = accepted.cancel(T0, "user")
    with pytest.raises(InvalidTransitionError):
        done.fill(1, Decimal("99.6000"), T0)
