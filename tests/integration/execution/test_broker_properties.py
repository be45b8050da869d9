"""Properties of the broker over random orders on REAL SPY minute bars (pre-market included)."""

from __future__ import annotations

import functools
import math
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from real_minutes import bars, is_regular, ny

from papertrader.config.settings import CostSettings, ExecutionSettings
from papertrader.domain.types import Order, OrderType, Side, TimeInForce
from papertrader.execution.broker import BarSlice, BrokerReport, PaperBroker
from papertrader.execution.orders import bracket


@functools.cache
def _window() -> list[BarSlice]:
    lo, hi = ny("2013-10-08", "09:00"), ny("2013-10-08", "10:30")
    return [b for b in bars("SPY") if lo <= b.open_time < hi]


order_spec = st.tuples(
    st.sampled_from(["market", "limit", "stop", "stop_limit", "bracket"]),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(1, 4_000),
    st.floats(-0.006, 0.006),  # price offset from the first bar's open
    st.floats(-0.004, 0.004),  # second offset (stop-limit's limit, bracket's exits)
    st.integers(0, 70),  # bar index it is decided in
    st.integers(0, 59),  # seconds into that bar
    st.sampled_from([TimeInForce.DAY, TimeInForce.GTC]),
)


def _price(base: float, offset: float) -> Decimal:
    return Decimal(str(round(base * (1 + offset), 2)))


def _orders(specs: list[tuple[str, Side, int, float, float, int, int, TimeInForce]]) -> list[list[Order]]:
    window = _window()
    base = float(window[0].open[0])
    out: list[list[Order]] = []
    for n, (kind, side, qty, off, off2, k, sec, tif) in enumerate(specs):
        created = window[min(k, len(window) - 1)].open_time + timedelta(seconds=sec)
        oid = f"o{n}"
        if kind == "bracket":
            gap = abs(off2) + 0.001
            sl, tp = (-gap, gap) if side is Side.BUY else (gap, -gap)
            out.append(
                list(
                    bracket(
                        oid,
                        "SPY",
                        side,
                        qty,
                        created,
                        stop_loss=_price(base, sl),
                        take_profit=_price(base, tp),
                        tif=tif,
                    )
                )
            )
            continue
        otype = {"market": OrderType.MARKET, "limit": OrderType.LIMIT, "stop": OrderType.STOP}.get(
            kind, OrderType.STOP_LIMIT
        )
        limit = _price(base, off + off2 if otype is OrderType.STOP_LIMIT else off)
        stop = _price(base, off)
        out.append(
            [
                Order(
                    oid,
                    "SPY",
                    side,
                    qty,
                    otype,
                    created,
                    limit_price=limit if otype in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
                    stop_price=stop if otype in (OrderType.STOP, OrderType.STOP_LIMIT) else None,
                    tif=tif,
                )
            ]
        )
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(order_spec, min_size=1, max_size=8),
    latency_ms=st.integers(0, 150_000),
    cash=st.integers(0, 2_000_000),
    fraction=st.sampled_from([None, 0.01, 0.1, 0.5]),
)
def test_no_overfill_no_early_fill_no_negative_cash_and_volume_cap_holds(
    specs: list[tuple[str, Side, int, float, float, int, int, TimeInForce]],
    latency_ms: int,
    cash: int,
    fraction: float | None,
) -> None:
    latency = timedelta(milliseconds=latency_ms)
    costs = CostSettings(execution=ExecutionSettings(latency_ms=latency_ms, max_volume_fraction=fraction))
    broker = PaperBroker(["SPY"], costs)
    groups = _orders(specs)
    created = {o.id: o for g in groups for o in g}
    pending = sorted(groups, key=lambda g: g[0].created_at)
    balance = Decimal(cash)
    filled: dict[str, int] = {}
    for bar in _window():
        while pending and pending[0][0].created_at <= bar.open_time:
            group = pending.pop(0)
            if len(group) == 3:
                broker.submit_bracket(*group, group[0].created_at, BrokerReport())
            else:
                broker.submit(group[0], group[0].created_at, BrokerReport())
        report = BrokerReport()
        broker.on_bars(bar, balance, report)
        for fill in report.fills:
            order = created[fill.order_id]
            assert fill.ts == bar.open_time and is_regular(fill.ts), "regular orders fill only in session"
            assert fill.ts >= order.created_at + latency, "never on a bar that opened before it was live"
            balance += fill.cash_delta
            assert balance >= 0, "a cash account never goes negative"
            filled[fill.order_id] = filled.get(fill.order_id, 0) + fill.qty
        if fraction is not None:
            assert sum(f.qty for f in report.fills) <= math.floor(fraction * bar.volume[0] + 1e-9)
        for state in report.orders:
            assert state.filled_qty <= state.qty
    for oid, qty in filled.items():
        assert qty <= created[oid].qty or created[oid].parent_id is not None, "no order fills more than its qty"
        if created[oid].parent_id is not None:
            assert qty <= filled.get(created[oid].parent_id, 0), "a bracket never exits more than it entered"
    for group in groups:
        if len(group) == 3:
            exits = filled.get(group[1].id, 0) + filled.get(group[2].id, 0)
            assert exits <= filled.get(group[0].id, 0)
