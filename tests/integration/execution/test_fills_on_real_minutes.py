"""Fill models on REAL minute bars and quotes: gaps, intra-bar stops, volume caps, hours, quotes, brackets."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

from real_minutes import bars, is_regular, ny, quote_at

from papertrader.config.settings import CostSettings, ExecutionSettings
from papertrader.domain.types import Fill, Order, OrderStatus, OrderType, Side, TimeInForce
from papertrader.execution.broker import BarSlice, BrokerReport, PaperBroker
from papertrader.execution.fees import adverse_price, market_fill_price, to_decimal
from papertrader.execution.orders import bracket

COSTS = CostSettings()
CASH = Decimal(10_000_000)


def _run(broker: PaperBroker, stream: list[BarSlice], symbol: str = "", quotes: bool = False) -> BrokerReport:
    report = BrokerReport()
    for bar in stream:
        q = quote_at(symbol, bar.open_time) if quotes else None
        broker.on_bars(bar, CASH, report, quotes=q)
    return report


def _from(stream: list[BarSlice], start: str, end: str) -> list[BarSlice]:
    lo, hi = ny(*start.split("T")), ny(*end.split("T"))
    return [b for b in stream if lo <= b.open_time < hi]


def test_sell_stop_that_gaps_overnight_fills_at_the_real_open_worse_than_the_stop() -> None:
    spy = bars("SPY")
    friday_last = [b for b in _from(spy, "2013-10-04T09:30", "2013-10-04T16:00")]
    monday_open = _from(spy, "2013-10-07T09:30", "2013-10-07T09:31")[0]
    stop = Decimal("168.00")
    assert float(min(b.low[0] for b in friday_last[-30:])) > 168.0, "Friday's close never reached the stop"
    assert monday_open.open[0] < 168.0, "Monday opened below it: a gap"
    broker = PaperBroker(["SPY"], COSTS)
    created = friday_last[-1].close_time  # 16:00 Friday
    order = Order("sl", "SPY", Side.SELL, 100, OrderType.STOP, created, stop_price=stop)
    broker.submit(order, created, BrokerReport())
    report = _run(broker, _from(spy, "2013-10-04T16:00", "2013-10-07T10:00"))
    (fill,) = report.fills
    assert fill.ts == monday_open.open_time, "post-market and pre-market prints do not trigger a regular order"
    assert fill.price == market_fill_price(monday_open.open[0], Side.SELL, COSTS)
    assert fill.price < to_decimal(monday_open.open[0]) < stop, "worse than the stop: the gap is the trader's loss"
    assert [e.kind for e in report.events][:2] == ["order.triggered", "order.filled"]


def test_sell_stop_reached_inside_a_real_bar_fills_at_the_stop_less_costs() -> None:
    spy = _from(bars("SPY"), "2013-10-08T09:30", "2013-10-08T16:00")
    stop = Decimal("167.00")
    k = next(j for j, b in enumerate(spy) if b.low[0] <= 167.0)
    assert spy[k].open[0] > 167.0, "this real bar opens above the stop and trades down through it"
    broker = PaperBroker(["SPY"], COSTS)
    created = spy[0].open_time
    broker.submit(Order("sl", "SPY", Side.SELL, 100, OrderType.STOP, created, stop_price=stop), created, BrokerReport())
    report = _run(broker, spy)
    (fill,) = report.fills
    assert fill.ts == spy[k].open_time
    assert fill.price == adverse_price(stop, Side.SELL, Decimal("6.0"))  # 5 bps slippage + half of 2 bps spread
    assert fill.price <= min(stop, to_decimal(spy[k].open[0]))


def test_partial_fills_over_real_ibm_bars_add_up_and_respect_the_volume_cap() -> None:
    ibm = _from(bars("IBM"), "2013-10-07T10:00", "2013-10-07T16:00")
    broker = PaperBroker(["IBM"], COSTS)
    created = ibm[0].open_time
    qty = 5_000
    broker.submit(Order("big", "IBM", Side.BUY, qty, OrderType.MARKET, created), created, BrokerReport())
    report = BrokerReport()
    per_bar: dict[object, list[Fill]] = {}
    for bar in ibm:
        before = len(report.fills)
        broker.on_bars(bar, CASH, report)
        for fill in report.fills[before:]:
            per_bar.setdefault(bar.open_time, []).append(fill)
            assert fill.qty <= math.floor(0.1 * bar.volume[0]), "never more than 10% of the bar's real volume"
            assert fill.price == market_fill_price(bar.open[0], Side.BUY, COSTS)
    assert sum(f.qty for f in report.fills) == qty
    assert len(per_bar) >= 5, "a 5,000-share order is several minutes of IBM's volume"
    assert report.orders[-1].status is OrderStatus.FILLED
    statuses = [o.status for o in report.orders]
    assert statuses.count(OrderStatus.PARTIALLY_FILLED) == len(report.fills) - 1
    fees = sum((f.fee for f in report.fills), Decimal(0))
    assert fees == Decimal("25.00"), "the per-order schedule is charged once across the pieces"


def test_no_fills_on_real_bars_outside_xnys_hours_unless_extended_hours() -> None:
    spy = _from(bars("SPY"), "2013-10-04T04:00", "2013-10-04T10:00")
    created = ny("2013-10-04", "04:05")
    regular = PaperBroker(["SPY"], COSTS)
    regular.submit(Order("r", "SPY", Side.BUY, 10, OrderType.MARKET, created), created, BrokerReport())
    (fill,) = _run(regular, spy).fills
    assert fill.ts == ny("2013-10-04", "09:30") and is_regular(fill.ts)

    extended = PaperBroker(["SPY"], COSTS)
    order = Order("x", "SPY", Side.BUY, 10, OrderType.MARKET, created, extended_hours=True)
    extended.submit(order, created, BrokerReport())
    (early,) = _run(extended, spy).fills
    assert early.ts < ny("2013-10-04", "09:30") and early.ts >= created

    everyone = PaperBroker(["SPY"], COSTS.model_copy(update={"execution": ExecutionSettings(extended_hours=True)}))
    everyone.submit(Order("e", "SPY", Side.BUY, 10, OrderType.MARKET, created), created, BrokerReport())
    assert _run(everyone, spy).fills[0].ts == early.ts


def test_day_order_placed_after_the_close_expires_only_after_the_next_regular_session() -> None:
    spy = _from(bars("SPY"), "2013-10-04T15:59", "2013-10-08T09:31")
    created = ny("2013-10-04", "16:00")
    broker = PaperBroker(["SPY"], COSTS)
    order = Order("d", "SPY", Side.BUY, 10, OrderType.LIMIT, created, limit_price=Decimal("100"))
    broker.submit(order, created, BrokerReport())
    report = _run(broker, spy)
    (expired,) = [o for o in report.orders if o.status is OrderStatus.EXPIRED]
    assert expired.updated_at is not None and expired.updated_at.date().isoformat() == "2013-10-08"


def test_market_order_with_real_quotes_pays_the_ask_at_the_next_open() -> None:
    spy = _from(bars("SPY"), "2013-10-09T11:00", "2013-10-09T11:05")
    costs = CostSettings(slippage_bps=0)
    broker = PaperBroker(["SPY"], costs)
    created = spy[0].close_time
    broker.submit(Order("b", "SPY", Side.BUY, 100, OrderType.MARKET, created), created, BrokerReport())
    broker.submit(Order("s", "SPY", Side.SELL, 100, OrderType.MARKET, created), created, BrokerReport())
    report = _run(broker, spy, "SPY", quotes=True)
    fills = {f.side: f for f in report.fills}
    quote = quote_at("SPY", fills[Side.BUY].ts)
    assert quote is not None and fills[Side.BUY].ts == spy[1].open_time
    assert fills[Side.BUY].price == to_decimal(quote.ask[0])
    assert fills[Side.SELL].price == to_decimal(quote.bid[0])


def test_bracket_on_real_bars_exits_exactly_once_and_never_before_the_entry() -> None:
    spy = _from(bars("SPY"), "2013-10-08T09:30", "2013-10-08T16:00")
    created = spy[0].open_time
    entry, sl, tp = bracket(
        "b", "SPY", Side.BUY, 200, created, stop_loss=Decimal("166.50"), take_profit=Decimal("168.50")
    )
    broker = PaperBroker(["SPY"], COSTS)
    broker.submit_bracket(entry, sl, tp, created, BrokerReport())
    report = _run(broker, spy)
    by_order = {f.order_id: f for f in report.fills}
    assert set(by_order) == {"b", "b.sl"}, "SPY fell 1.3% that day: the stop-loss, not the take-profit"
    assert by_order["b.sl"].ts > by_order["b"].ts
    assert sum(f.qty for f in report.fills if f.order_id == "b.sl") == 200
    final = {o.id: o.status for o in report.orders}
    assert final == {"b": OrderStatus.FILLED, "b.sl": OrderStatus.FILLED, "b.tp": OrderStatus.CANCELLED}


def test_latency_moves_a_real_fill_to_the_first_bar_opening_after_it() -> None:
    spy = _from(bars("SPY"), "2013-10-10T10:00", "2013-10-10T10:10")
    created = spy[0].close_time
    slow = PaperBroker(["SPY"], COSTS.model_copy(update={"execution": ExecutionSettings(latency_ms=90_000)}))
    slow.submit(
        Order("m", "SPY", Side.BUY, 10, OrderType.MARKET, created, tif=TimeInForce.GTC), created, BrokerReport()
    )
    (fill,) = _run(slow, spy).fills
    # decided at 10:01, live at 10:02:30: the 10:02 bar opened before that, so the 10:03 bar is first
    assert fill.ts == spy[3].open_time and fill.ts >= created + timedelta(seconds=90)
    assert fill.price == market_fill_price(spy[3].open[0], Side.BUY, COSTS)
