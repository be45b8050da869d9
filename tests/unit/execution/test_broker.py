from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

from papertrader.config.settings import CostSettings
from papertrader.domain.types import Order, OrderStatus, OrderType, Side, TimeInForce
from papertrader.execution.broker import BarSlice, BrokerReport, PaperBroker

# Synthetic bars: these unit tests pin fill rules on hand-made prices; engine tests use real data.
# T0 is Monday 2020-01-06 09:30 New York, so bars 0..4 are real XNYS sessions (weekend bars never fill).
DAY = timedelta(days=1)
T0 = datetime(2020, 1, 6, 14, 30, tzinfo=UTC)
NO_COSTS = CostSettings(slippage_bps=0, spread_bps=0, commission_min=0, commission_per_share=0)


def _bar(k: int, o: float, h: float, lo: float, c: float) -> BarSlice:
    open_time = T0 + k * DAY
    arr = lambda x: np.array([x])  # noqa: E731
    return BarSlice(k, open_time, open_time + timedelta(hours=6.5), arr(o), arr(h), arr(lo), arr(c), arr(1e6))


def _broker(costs: CostSettings = NO_COSTS) -> PaperBroker:
    return PaperBroker(["SPY"], costs)


def _market(created: datetime, side: Side = Side.BUY, qty: int = 10) -> Order:
    return Order("m1", "SPY", side, qty, OrderType.MARKET, created)


def test_market_order_never_fills_on_the_bar_it_was_decided_on() -> None:
    broker = _broker()
    decided = _bar(0, 100, 101, 99, 100).close_time
    report = BrokerReport()
    broker.submit(_market(decided), decided, report)
    broker.on_bars(_bar(0, 100, 101, 99, 100), Decimal(10_000), report)
    assert report.fills == []
    broker.on_bars(_bar(1, 105, 106, 104, 105), Decimal(10_000), report)
    assert [f.price for f in report.fills] == [Decimal("105")]
    assert report.fills[0].ts == _bar(1, 1, 1, 1, 1).open_time


def test_market_fill_includes_costs_and_commission() -> None:
    costs = CostSettings()
    broker = _broker(costs)
    report = BrokerReport()
    t = _bar(0, 1, 1, 1, 1).close_time
    broker.submit(_market(t, qty=100), t, report)
    broker.on_bars(_bar(1, 100, 101, 99, 100), Decimal(100_000), report)
    fill = report.fills[0]
    assert fill.price == Decimal("100.0600") and fill.fee == Decimal("1.00")
    assert fill.cash_delta == Decimal("-10007.00")


def test_buy_limit_fills_only_when_a_later_bar_trades_through() -> None:
    broker = _broker()
    report = BrokerReport()
    t = _bar(0, 1, 1, 1, 1).close_time
    order = Order("l1", "SPY", Side.BUY, 5, OrderType.LIMIT, t, limit_price=Decimal("95"), tif=TimeInForce.GTC)
    broker.submit(order, t, report)
    broker.on_bars(_bar(1, 100, 101, 95, 96), Decimal(10_000), report)  # touches 95, does not trade through
    assert report.fills == []
    broker.on_bars(_bar(2, 97, 98, 94, 95), Decimal(10_000), report)
    assert [f.price for f in report.fills] == [Decimal("95")]


def test_limit_gapping_through_fills_at_the_better_open() -> None:
    broker = _broker()
    report = BrokerReport()
    t = _bar(0, 1, 1, 1, 1).close_time
    order = Order("l1", "SPY", Side.SELL, 5, OrderType.LIMIT, t, limit_price=Decimal("100"))
    broker.submit(order, t, report)
    broker.on_bars(_bar(1, 103, 104, 102, 103), Decimal(0), report)
    assert [f.price for f in report.fills] == [Decimal("103")]


def test_day_order_expires_after_its_session_gtc_keeps_working() -> None:
    broker = _broker()
    report = BrokerReport()
    t = _bar(0, 1, 1, 1, 1).close_time
    day = Order("d", "SPY", Side.BUY, 1, OrderType.LIMIT, t, limit_price=Decimal("50"))
    gtc = Order("g", "SPY", Side.BUY, 1, OrderType.LIMIT, t, limit_price=Decimal("50"), tif=TimeInForce.GTC)
    broker.submit(day, t, report)
    broker.submit(gtc, t, report)
    broker.on_bars(_bar(1, 100, 101, 99, 100), Decimal(10_000), report)
    broker.on_bars(_bar(2, 100, 101, 99, 100), Decimal(10_000), report)
    statuses = {o.id: o.status for o in report.orders}
    assert statuses["d"] is OrderStatus.EXPIRED
    assert [o.id for o in broker.working] == ["g"]


def test_missing_bar_keeps_market_order_working_until_the_symbol_trades() -> None:
    broker = PaperBroker(["SPY"], NO_COSTS)
    report = BrokerReport()
    t = _bar(0, 1, 1, 1, 1).close_time
    broker.submit(Order("m", "SPY", Side.BUY, 1, OrderType.MARKET, t, tif=TimeInForce.GTC), t, report)
    broker.on_bars(_bar(1, float("nan"), float("nan"), float("nan"), float("nan")), Decimal(1000), report)
    assert report.fills == []
    broker.on_bars(_bar(2, 100, 100, 100, 100), Decimal(1000), report)
    assert len(report.fills) == 1


def test_buy_is_cut_to_the_cash_available_and_the_rest_cancelled() -> None:
    broker = _broker(CostSettings())
    report = BrokerReport()
    t = _bar(0, 1, 1, 1, 1).close_time
    broker.submit(_market(t, qty=100), t, report)
    broker.on_bars(_bar(1, 100, 101, 99, 100), Decimal(5_000), report)
    assert report.fills[0].qty == 49
    assert report.orders[-1].status is OrderStatus.CANCELLED
    assert -report.fills[0].cash_delta <= Decimal(5_000)


def test_sells_fill_before_buys_so_proceeds_fund_them() -> None:
    broker = PaperBroker(["A", "B"], NO_COSTS)
    report = BrokerReport()
    t = _bar(0, 1, 1, 1, 1).close_time
    broker.submit(Order("b", "B", Side.BUY, 10, OrderType.MARKET, t), t, report)
    broker.submit(Order("a", "A", Side.SELL, 10, OrderType.MARKET, t), t, report)
    nxt = _bar(1, 100, 100, 100, 100)
    two = BarSlice(
        1,
        nxt.open_time,
        nxt.close_time,
        *(np.repeat(a, 2) for a in (nxt.open, nxt.high, nxt.low, nxt.close, nxt.volume)),
    )
    broker.on_bars(two, Decimal(0), report)
    assert [f.symbol for f in report.fills] == ["A", "B"]
