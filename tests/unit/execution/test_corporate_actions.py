"""Splits and dividends on open positions (the ledger) and on working orders (the broker, FINRA Rule 5330)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from papertrader.config.settings import CostSettings
from papertrader.domain.types import Fill, Order, OrderStatus, OrderType, Side, TimeInForce
from papertrader.execution.broker import BarSlice, BrokerReport, PaperBroker
from papertrader.portfolio.ledger import Ledger

T0 = datetime(2020, 8, 28, 20, tzinfo=UTC)
D = Decimal


def _ledger(*lots: tuple[int, str]) -> Ledger:
    ledger = Ledger(D(100_000))
    for n, (qty, price) in enumerate(lots):
        side = Side.BUY if qty > 0 else Side.SELL
        ledger.apply(Fill(f"f{n}", "AAPL", side, abs(qty), D(price), D(0), T0, n + 1))
    return ledger


def test_forward_split_multiplies_shares_and_divides_lot_prices_keeping_cost_and_value() -> None:
    ledger = _ledger((10, "400"), (5, "500"))  # AAPL's 4:1 of 2020-08-31
    cost = ledger.positions["AAPL"].cost_basis
    before = ledger.value({"AAPL": D("500")}).equity
    assert ledger.apply_split("AAPL", D(4)) == D(0)
    pos = ledger.positions["AAPL"]
    assert [(lot.qty, lot.price) for lot in pos.lots] == [(40, D(100)), (20, D(125))]
    assert pos.cost_basis == cost
    assert ledger.value({"AAPL": D("125")}).equity == before


def test_split_with_a_fractional_share_pays_cash_in_lieu_and_realises_its_pnl() -> None:
    ledger = _ledger((101, "30"))
    cash = ledger.cash
    paid = ledger.apply_split("AAPL", D("1.5"), cash_in_lieu_price=D(25))
    pos = ledger.positions["AAPL"]
    assert pos.qty == 151 and paid == D("12.5") and ledger.cash == cash + paid
    assert pos.realized_pnl == D("12.5") - D("0.5") * D(20), "0.5 share sold at 25 that cost 20 after the split"
    with pytest.raises(ValueError, match="cash_in_lieu_price"):
        _ledger((101, "30")).apply_split("AAPL", D("1.5"))


def test_split_rounds_lots_so_whole_shares_are_kept_where_the_fractions_are_largest() -> None:
    ledger = _ledger((1, "30"), (1, "60"))
    ledger.apply_split("AAPL", D("1.5"))
    assert sorted(lot.qty for lot in ledger.positions["AAPL"].lots) == [1, 2]
    assert ledger.positions["AAPL"].qty == 3


def test_reverse_split_shrinks_a_short_position_too() -> None:
    ledger = _ledger((-100, "2"))
    ledger.apply_split("AAPL", D("0.1"))
    assert ledger.positions["AAPL"].qty == -10 and ledger.positions["AAPL"].lots[0].price == D(20)


def test_cash_dividend_is_credited_on_longs_and_charged_on_shorts() -> None:
    long = _ledger((100, "50"))
    assert long.apply_dividend("AAPL", D("0.82")) == D("82.00") and long.dividends == D("82.00")
    short = _ledger((-100, "50"))
    cash = short.cash
    short.apply_dividend("AAPL", D("0.82"))
    assert short.cash == cash - D("82.00")
    assert _ledger().apply_dividend("AAPL", D(1)) == 0


def _working(broker: PaperBroker) -> dict[str, Order]:
    return {o.id: o for o in broker.working}


def _book() -> PaperBroker:
    broker = PaperBroker(["AAPL"], CostSettings())
    orders = [
        Order("bl", "AAPL", Side.BUY, 10, OrderType.LIMIT, T0, limit_price=D("401.01"), tif=TimeInForce.GTC),
        Order("sl", "AAPL", Side.SELL, 10, OrderType.LIMIT, T0, limit_price=D("501.01"), tif=TimeInForce.GTC),
        Order("ss", "AAPL", Side.SELL, 10, OrderType.STOP, T0, stop_price=D("380.03"), tif=TimeInForce.GTC),
        Order("bs", "AAPL", Side.BUY, 10, OrderType.STOP, T0, stop_price=D("520.03"), tif=TimeInForce.GTC),
    ]
    for order in orders:
        broker.submit(order, T0, BrokerReport())
    return broker


def test_forward_split_adjusts_working_orders_rounding_prices_away_from_execution() -> None:
    broker = _book()
    report = BrokerReport()
    broker.apply_split("AAPL", D(4), T0, report)
    w = _working(broker)
    assert {k: o.qty for k, o in w.items()} == {"bl": 40, "sl": 40, "ss": 40, "bs": 40}
    assert w["bl"].limit_price == D("100.25") and w["ss"].stop_price == D("95.00"), "rounded down"
    assert w["sl"].limit_price == D("125.26") and w["bs"].stop_price == D("130.01"), "rounded up"
    assert {e.kind for e in report.events} == {"order.amended"}


def test_split_of_a_partially_filled_order_scales_its_fills() -> None:
    broker = PaperBroker(["AAPL"], CostSettings())
    order = Order("o", "AAPL", Side.BUY, 3, OrderType.LIMIT, T0, limit_price=D(300), tif=TimeInForce.GTC)
    broker.submit(order, T0, BrokerReport())
    monday = datetime(2020, 8, 31, 14, 0, tzinfo=UTC)
    a = lambda x: np.array([x])  # noqa: E731
    bar = BarSlice(0, monday, monday + timedelta(minutes=1), a(301.0), a(302.0), a(299.0), a(300.0), a(10.0))
    broker.on_bars(bar, D(10_000), BrokerReport())  # 10% of 10 shares: one share fills at the limit
    broker.apply_split("AAPL", D("1.5"), T0, BrokerReport())
    o = _working(broker)["o"]
    assert (o.qty, o.filled_qty, o.avg_fill_price, o.limit_price) == (4, 1, D(200), D(200))


def test_reverse_split_cancels_working_orders() -> None:
    broker = _book()
    report = BrokerReport()
    broker.apply_split("AAPL", D("0.2"), T0, report)
    assert broker.working == () and {o.status for o in report.orders} == {OrderStatus.CANCELLED}


def test_dividend_lowers_buy_limits_and_sell_stops_only() -> None:
    broker = _book()
    broker.apply_dividend("AAPL", D("0.205"), T0, BrokerReport())
    w = _working(broker)
    assert w["bl"].limit_price == D("400.80") and w["ss"].stop_price == D("379.82")
    assert w["sl"].limit_price == D("501.01") and w["bs"].stop_price == D("520.03")
    broker.apply_dividend("AAPL", D("0.004"), T0, BrokerReport())
    assert _working(broker)["bl"].limit_price == D("400.80"), "under a cent: no adjustment"
