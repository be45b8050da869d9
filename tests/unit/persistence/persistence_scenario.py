"""A small deterministic trading scenario for the persistence tests (also run in a child process)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from papertrader.core.ids import order_id
from papertrader.domain.events import DomainEvent, event_from_record
from papertrader.domain.types import Fill, Order, OrderType, Position, Side
from papertrader.persistence import CycleRecord

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
INITIAL_CASH = Decimal("100000.0000001")
RUN_ID = "20240102T143000-abc123"


def build_cycles(run_id: str, n: int) -> list[CycleRecord]:
    """n deterministic cycles: each places one order, the next cycle fills it (so orders change state)."""
    positions: dict[str, Position] = {}
    last_price: dict[str, Decimal] = {}
    cash = INITIAL_CASH
    pending: Order | None = None
    fill_seq = 0
    out: list[CycleRecord] = []
    for c in range(n):
        ts = T0 + timedelta(days=c)
        orders: list[Order] = []
        fills: list[Fill] = []
        changed: list[Position] = []
        events: list[DomainEvent] = []
        if pending is not None:
            price = Decimal("100.0000001") + c
            filled = pending.fill(pending.qty, price, ts)
            fill_seq += 1
            fill = Fill(filled.id, filled.symbol, filled.side, filled.qty, price, Decimal("0.35"), ts, fill_seq)
            pos = positions.get(fill.symbol, Position(fill.symbol)).apply(fill.side, fill.qty, price)
            positions[fill.symbol] = pos
            last_price[fill.symbol] = price
            cash += fill.cash_delta
            orders.append(filled)
            fills.append(fill)
            changed.append(pos)
            events.append(event_from_record(ts, "fill", {"fill": fill, "cash": cash}))
        symbol = ("AAPL", "MSFT")[c % 2]
        side = Side.BUY if c % 3 else Side.SELL
        is_limit = c % 2 == 1
        new = Order(
            id=order_id(run_id, c, 0),
            symbol=symbol,
            side=side,
            qty=10 + c,
            type=OrderType.LIMIT if is_limit else OrderType.MARKET,
            created_at=ts,
            limit_price=Decimal("250.05") if is_limit else None,
            tag=f"cycle-{c}",
        ).accept(ts)
        orders.append(new)
        events.append(event_from_record(ts, "order", {"order": new, "at": ts}))
        pending = new
        market_value = sum((p.qty * last_price[s] for s, p in positions.items()), Decimal(0))
        equity = cash + market_value
        gross = sum((abs(p.qty * last_price[s]) for s, p in positions.items()), Decimal(0))
        out.append(
            CycleRecord(
                cycle=c,
                ts=ts,
                orders=tuple(orders),
                fills=tuple(fills),
                positions=tuple(changed),
                cash=cash,
                market_value=market_value,
                equity=equity,
                gross_exposure=float(gross / equity),
                events=tuple(events),
            )
        )
    return out
