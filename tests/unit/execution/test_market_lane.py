"""The broker's columnar lane (`submit_market`: plain DAY market orders kept as records) gives exactly what
`submit(Order(...))` gives on the array step and on the per-order Decimal path.

Synthetic books and bars (hypothesis), mixing lane orders with limits, brackets and per-order market orders,
with reads (`get`, `working`, `pending_qty`) and cancels between bars: fills, order states, events, the working
book and the pending shares agree, record for record, whether the caller reads transitions or not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.config.settings import CostSettings, ExecutionSettings
from papertrader.domain.types import Order, OrderType, Side, TimeInForce
from papertrader.execution.broker import BarSlice, BrokerReport, PaperBroker
from papertrader.execution.orders import bracket

# Monday 2020-01-06 09:30 New York: bars 0..4 are real XNYS sessions.
T0 = datetime(2020, 1, 6, 14, 30, tzinfo=UTC)
DAY = timedelta(days=1)
SYMBOLS = ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF")
COSTS = [
    CostSettings(),
    CostSettings(slippage_bps=3.3, spread_bps=1.7, commission_model="flat", commission_flat=4.95),
    CostSettings(commission_model="questrade_classic"),  # venue fees: the lane's records take the per-order path
    CostSettings(execution=ExecutionSettings(max_volume_fraction=0.001)),  # partial fills spill the lane
    CostSettings(execution=ExecutionSettings(latency_ms=60_000, halted_symbols=("BBB",))),
]
ORDER = st.tuples(
    st.sampled_from(SYMBOLS),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(1, 5_000),
    st.sampled_from(["lane", "lane", "lane", "market", "limit", "bracket"]),
    st.integers(-1, 1),  # the evening before bar 0, or the close of bar 0 or bar 1 (latency, DAY sessions)
)
OPEN = st.one_of(
    st.integers(100, 5_000_000).map(lambda t: t / 10**4),  # on the 0.0001 grid
    st.sampled_from([float("nan"), 100 / 3]),  # no trade, off the grid
)
BAR = st.tuples(OPEN, st.sampled_from([1e6, 2_000.0, 0.0]))
BETWEEN = st.sampled_from(["nothing", "read", "cancel", "submit"])
CASH = st.sampled_from([Decimal("1000000.0"), Decimal("25000.00"), Decimal("0")])


def _bar(k: int, chunk: list[tuple[float, float]]) -> BarSlice:
    o = np.array([p for p, _ in chunk])
    at = T0 + k * DAY
    return BarSlice(k, at, at + timedelta(hours=6.5), o, o * 1.02, o * 0.98, o, np.array([v for _, v in chunk]))


def _run(
    way: str,
    costs: CostSettings,
    book: list[tuple[str, Side, int, str, int]],
    bars: list[tuple[float, float]],
    between: list[str],
    cash: Decimal,
    transitions: bool,
) -> list[list[str]]:
    """Everything the broker reported and holds after three bars, as reprs (a Decimal's exponent counts)."""
    broker = PaperBroker(SYMBOLS, costs)
    broker.vectorised = way != "per-order"
    report = BrokerReport(transitions=transitions)
    seen: list[list[str]] = []
    for k in range(3):
        for n, (symbol, side, qty, kind, day) in enumerate(book):
            if day != k - 1:
                continue
            at = T0 + day * DAY + timedelta(hours=6.5)
            if kind == "bracket":
                stop_loss, take_profit = (Decimal("90"), Decimal("110"))[:: 1 if side is Side.BUY else -1]
                entry, stop, take = bracket(
                    f"b{n}", symbol, side, qty, at, stop_loss=stop_loss, take_profit=take_profit
                )
                broker.submit_bracket(entry, stop, take, at, report)
            elif kind == "lane" and way == "lane":
                broker.submit_market(f"o{n}", symbol, side, qty, at, "tag", report)
            else:
                order_type = OrderType.LIMIT if kind == "limit" else OrderType.MARKET
                limit = Decimal("150.00") if kind == "limit" else None
                order = Order(f"o{n}", symbol, side, qty, order_type, at, limit, TimeInForce.DAY, tag="tag")
                broker.submit(order, at, report)
        broker.on_bars(_bar(k, bars[k * 6 : (k + 1) * 6]), cash, report)
        act, at = between[k], T0 + k * DAY + timedelta(hours=6.5)
        if act == "read":
            seen.append([repr(broker.get(f"o{n}")) for n in range(len(book))] + [repr(broker.pending_qty())])
        elif act == "cancel":
            broker.cancel_symbol(SYMBOLS[k], at, "replaced by a new target", report, keep_exits=True)
        elif act == "submit":  # a per-order submission after lane records: the book keeps submission order
            broker.submit(Order(f"x{k}", SYMBOLS[k], Side.BUY, 7, OrderType.MARKET, at), at, report)
    orders = [repr(o) for o in report.orders] if transitions else []
    return [
        [repr(f) for f in report.fills],
        orders,
        [repr(e) for e in report.events],
        [repr(o) for o in broker.working],
        [repr(broker.pending_qty())],
        *seen,
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(range(len(COSTS))),
    st.lists(ORDER, min_size=1, max_size=10),
    st.lists(BAR, min_size=18, max_size=18),
    st.lists(BETWEEN, min_size=3, max_size=3),
    CASH,
    st.booleans(),
)
def test_lane_records_give_what_submitted_orders_give_on_both_paths(
    costs: int,
    book: list[tuple[str, Side, int, str, int]],
    bars: list[tuple[float, float]],
    between: list[str],
    cash: Decimal,
    transitions: bool,
) -> None:
    runs = [_run(way, COSTS[costs], book, bars, between, cash, transitions) for way in ("per-order", "array", "lane")]
    assert runs[0] == runs[1] == runs[2]


def test_a_lane_order_is_built_only_when_read_and_fills_without_one() -> None:
    broker = PaperBroker(SYMBOLS[:2], CostSettings())
    at = T0 - DAY + timedelta(hours=6.5)
    quiet = BrokerReport(transitions=False)
    broker.submit_market("a", "AAA", Side.BUY, 10, at, "t", quiet)
    broker.submit_market("b", "BBB", Side.SELL, 5, at, "t", quiet)
    assert quiet.orders == [] and broker._lane_orders == {}  # records only: nobody has read them
    assert broker.pending_qty().tolist() == [10.0, -5.0]
    broker.on_bars(_bar(0, [(10.0, 1e6), (20.0, 1e6)]), Decimal("1000"), quiet)
    assert [(f.order_id, f.qty) for f in quiet.fills] == [("b", 5), ("a", 10)]  # sells first, as the book does
    assert broker._lane_orders == {} and broker.working == () and broker.pending_qty().tolist() == [0.0, 0.0]


def test_a_per_order_submission_spills_the_lane_first_so_the_book_keeps_submission_order() -> None:
    broker = PaperBroker(SYMBOLS[:2], CostSettings())
    at = T0 - DAY + timedelta(hours=6.5)
    report = BrokerReport()
    broker.submit_market("a", "AAA", Side.BUY, 10, at, "t", report)
    broker.submit(Order("l", "BBB", Side.BUY, 3, OrderType.LIMIT, at, Decimal("5")), at, report)
    assert [o.id for o in broker.working] == ["a", "l"] and broker._lane == {}
    assert report.orders[0] == Order("a", "AAA", Side.BUY, 10, OrderType.MARKET, at, tag="t").accept(at)
