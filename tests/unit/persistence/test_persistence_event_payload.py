"""The stored payload of a `CycleClosed`, built directly, is the generic `to_jsonable(to_dict())` key for key."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from papertrader.domain.events import CycleClosed, DrawdownExited
from papertrader.persistence.jsonable import to_jsonable
from papertrader.persistence.repository import event_payload

AMOUNTS = ["0", "0.00", "0E-2", "100000.0", "-5000.5", "1234567.8912", "1E+3", "12.3400", "-0.0001", "7"]


@pytest.mark.parametrize("amount", AMOUNTS)
def test_cycle_closed_payload_equals_the_generic_encoding(amount: str) -> None:
    value = Decimal(amount)
    event = CycleClosed(
        datetime(2020, 1, 2, 21, tzinfo=UTC),
        cycle=17,
        cash=value,
        equity=value + Decimal("1.5"),
        gross_exposure=abs(value),
        fills=2,
        orders=3,
    )
    fast = event_payload(event)
    generic = to_jsonable(event.to_dict())
    assert fast == generic and list(fast) == list(generic)  # same keys, same order, same values and types
    assert [type(v) for v in fast.values()] == [type(v) for v in generic.values()]


def test_other_events_keep_the_generic_encoding() -> None:
    event = DrawdownExited(
        datetime(2020, 1, 2, 15, tzinfo=UTC),
        symbol="AAPL",
        cause="gap",
        qty=5,
        level=10.0,
        price=Decimal("9.99"),
        floor=1.0,
        budget=2.0,
        move=0.1,
    )
    assert event_payload(event) == to_jsonable(event.to_dict())
