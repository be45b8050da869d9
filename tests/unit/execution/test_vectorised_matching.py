"""The broker's array step for market orders gives exactly what the per-order Decimal path gives.

Synthetic books and bars (hypothesis): these pin that two code paths agree, fill for fill, event for event, on
hand-made prices; tests/integration/execution/test_vectorised_real_bars.py does the same through whole runs on
real bars.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.config.settings import CostSettings, ExecutionSettings
from papertrader.domain.types import Order, OrderType, Side, TimeInForce
from papertrader.execution import broker as broker_module
from papertrader.execution.broker import BarSlice, BrokerReport, PaperBroker
from papertrader.execution.orders import bracket

# Monday 2020-01-06 09:30 New York: bars 0..4 are real XNYS sessions.
T0 = datetime(2020, 1, 6, 14, 30, tzinfo=UTC)
DAY = timedelta(days=1)
SYMBOLS = ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF")
COSTS = [
    CostSettings(),
    CostSettings(slippage_bps=0, spread_bps=0, commission_model="bps", commission_bps=1.0),
    CostSettings(slippage_bps=3.3, spread_bps=1.7, commission_model="flat", commission_flat=4.95),
    CostSettings(commission_model="questrade_classic"),
    CostSettings(execution=ExecutionSettings(max_volume_fraction=None, halt_on_zero_volume=False)),
    CostSettings(execution=ExecutionSettings(latency_ms=60_000, halted_symbols=("BBB",))),
]


def _bar(k: int, opens: list[float], volumes: list[float]) -> BarSlice:
    o = np.array(opens)
    at = T0 + k * DAY
    return BarSlice(k, at, at + timedelta(hours=6.5), o, o * 1.02, o * 0.98, o, np.array(volumes))


def _state(report: BrokerReport, broker: PaperBroker) -> tuple[list[str], list[str], list[str], list[str]]:
    """Everything a run records, as reprs (so a Decimal's exponent counts, not just its value)."""
    return (
        [repr(f) for f in report.fills],
        [repr(o) for o in report.orders],
        [repr(e) for e in report.events],
        [repr(o) for o in broker.working],
    )


ORDER = st.tuples(
    st.sampled_from(SYMBOLS),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(1, 5_000),
    st.sampled_from(["market", "market", "market", "limit", "bracket"]),
    st.sampled_from([TimeInForce.DAY, TimeInForce.GTC]),
    st.integers(-1, 0),  # created the evening before bar 0 or at bar 0's close (latency, DAY session)
)
OPEN = st.one_of(
    st.integers(100, 5_000_000).map(lambda t: t / 10**4),  # on the 0.0001 grid
    st.sampled_from([float("nan"), 100 / 3, 12.345678]),  # no trade, off the grid
)
VOLUME = st.sampled_from([1e6, 2_000.0, 15_000.0, 0.0, float("nan")])


Book = list[tuple[str, Side, int, str, TimeInForce, int]]


def _three_ways(costs: CostSettings, orders: Book, bars: list[tuple[float, float]], cash: Decimal) -> None:
    """Run one book through two bars per order, in numpy arrays and in Python ints; all three must agree."""
    states = []
    for vectorised, array_min in ((False, 0), (True, 1), (True, 100)):
        broker = PaperBroker(SYMBOLS, costs)
        broker.vectorised = vectorised
        report = BrokerReport()
        for n, (symbol, side, qty, kind, tif, day) in enumerate(orders):
            at = T0 + day * DAY + timedelta(hours=6.5)
            if kind == "bracket":
                low, high = Decimal("90.00"), Decimal("110.00")
                stop_loss, take_profit = (low, high) if side is Side.BUY else (high, low)
                entry, stop, take = bracket(
                    f"b{n}", symbol, side, qty, at, stop_loss=stop_loss, take_profit=take_profit
                )
                broker.submit_bracket(entry, stop, take, at, report)
                continue
            limit = Decimal("150.00") if kind == "limit" else None
            order_type = OrderType.LIMIT if kind == "limit" else OrderType.MARKET
            broker.submit(Order(f"o{n}", symbol, side, qty, order_type, at, limit_price=limit, tif=tif), at, report)
        default, broker_module.ARRAY_MIN = broker_module.ARRAY_MIN, array_min
        try:
            for k in range(2):
                chunk = bars[k * 6 : (k + 1) * 6]
                broker.on_bars(_bar(k, [o for o, _ in chunk], [v for _, v in chunk]), cash, report)
        finally:
            broker_module.ARRAY_MIN = default
        states.append(_state(report, broker))
    assert states[0] == states[1] == states[2]


CASH = st.sampled_from([Decimal("1000000.0"), Decimal("25000.00"), Decimal("3000.123456"), Decimal("0")])


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(range(len(COSTS))),
    st.lists(ORDER, min_size=1, max_size=10),
    st.lists(st.tuples(OPEN, VOLUME), min_size=12, max_size=12),
    CASH,
)
def test_the_array_step_equals_the_per_order_path_fill_for_fill_and_event_for_event(
    costs: int, orders: Book, bars: list[tuple[float, float]], cash: Decimal
) -> None:
    _three_ways(COSTS[costs], orders, bars, cash)


GRID_OPEN = st.integers(100, 5_000_000).map(lambda t: t / 10**4)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(range(len(COSTS))),
    st.lists(st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 5_000)), min_size=1, max_size=6),
    st.lists(st.tuples(GRID_OPEN, st.sampled_from([1e6, 2_000.0, 15_000.0])), min_size=12, max_size=12),
    CASH,
)
def test_books_the_array_step_takes_whole_match_the_per_order_path(
    costs: int, orders: list[tuple[Side, int]], bars: list[tuple[float, float]], cash: Decimal
) -> None:
    """One market order per symbol, opens on the grid: the array step books these itself (a buy the cash covers
    only in part, and what a volume cap leaves for the next bar, go the per-order way), and it still agrees."""
    book: Book = [(SYMBOLS[n], side, qty, "market", TimeInForce.GTC, -1) for n, (side, qty) in enumerate(orders)]
    _three_ways(COSTS[costs], book, bars, cash)


def test_plain_market_orders_take_the_array_step_at_the_default_costs() -> None:
    broker = PaperBroker(SYMBOLS, CostSettings())
    at = T0 - DAY + timedelta(hours=6.5)
    orders = [Order(f"o{i}", s, Side.BUY, 10, OrderType.MARKET, at) for i, s in enumerate(SYMBOLS)]
    book = sorted(orders, key=lambda o: o.id)
    report = BrokerReport()
    for order in orders:
        broker.submit(order, at, report)
    bar = _bar(0, [100.0, 20.5, 33.33, 47.0, 1.2345, 999.99], [1e6] * 6)
    terms = broker._vector_terms([broker.get(o.id) for o in book], bar, [True] * 6)  # type: ignore[misc]
    assert sorted(terms) == [o.id for o in book]
    broker.on_bars(bar, Decimal("1000000.0"), report)
    # 5 bps slippage plus half of a 2 bps spread, rounded half-up to 0.0001
    assert [str(f.price) for f in report.fills] == ["100.0600", "20.5123", "33.3500", "47.0282", "1.2352", "1000.5900"]
    # the 1.00 minimum, capped at 1% of a 12.35 notional
    assert [str(f.fee) for f in report.fills] == ["1.00", "1.00", "1.00", "1.00", "0.12", "1.00"]


def test_orders_the_array_step_cannot_represent_are_left_to_the_per_order_path() -> None:
    broker = PaperBroker(SYMBOLS[:3], CostSettings())
    at = T0 - DAY + timedelta(hours=6.5)
    report = BrokerReport()
    broker.submit(Order("m", "AAA", Side.BUY, 10, OrderType.MARKET, at), at, report)
    broker.submit(Order("l", "BBB", Side.BUY, 10, OrderType.LIMIT, at, limit_price=Decimal("50")), at, report)
    broker.submit(Order("x", "CCC", Side.BUY, 10, OrderType.MARKET, at), at, report)
    broker.submit(Order("y", "CCC", Side.SELL, 5, OrderType.MARKET, at), at, report)
    working = list(broker.working)
    assert set(broker._vector_terms(working, _bar(0, [10.0, 10.0, 10.0], [1e6] * 3), [True] * 3)) == {"m"}
    assert broker._vector_terms(working, _bar(0, [10 / 3, 10.0, 10.0], [1e6] * 3), [True] * 3) == {}
    questrade = PaperBroker(SYMBOLS[:1], CostSettings(commission_model="questrade_classic"))
    questrade.submit(Order("q", "AAA", Side.BUY, 10, OrderType.MARKET, at), at, report)
    assert questrade._vector_terms(list(questrade.working), _bar(0, [10.0], [1e6]), [True]) == {}
