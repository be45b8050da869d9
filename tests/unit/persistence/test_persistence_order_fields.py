"""Stop, bracket and replace fields of an order survive the database exactly (a resume depends on it)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from papertrader.domain.types import Order, OrderType, Side, TimeInForce
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import CycleRecord, RunInfo, RunRepository

T0 = datetime(2020, 1, 6, 21, tzinfo=UTC)


def test_contingent_order_fields_round_trip(tmp_path: Path) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'o.db'}")
    init_db(db)
    repo = RunRepository(db)
    repo.create_run(RunInfo("r", "replay", "1d", ("SPY",), None, None, Decimal(100_000), {}, T0))
    stop = Order(
        "r:1:1",
        "SPY",
        Side.SELL,
        10,
        OrderType.STOP_LIMIT,
        T0,
        limit_price=Decimal("99.5"),
        stop_price=Decimal("100.0001"),
        tif=TimeInForce.GTC,
        parent_id="r:1:0",
        oco_group="r:1",
        replaces="r:0:1",
        extended_hours=True,
    ).accept(T0)
    stop = stop.trigger(T0, "stop elected")
    money = Decimal(0)
    repo.record_cycles("r", [CycleRecord(1, T0, (stop,), (), (), money, money, money, 0.0)])
    assert repo.load_orders("r") == [stop]
