"""Each order type's life in the broker, on hand-made bars that pin one rule each.

Bars are 1-minute bars inside the regular session of Monday 2020-01-06 (real trading day), so the
calendar never interferes unless a test means it to.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from papertrader.config.settings import CostSettings, ExecutionSettings
from papertrader.core.errors import InvalidTransitionError
from papertrader.domain.types import Order, OrderStatus, OrderType, Side, TimeInForce
from papertrader.execution.broker import BarSlice, BrokerReport, PaperBroker
from papertrader.execution.fees import adverse_price
from papertrader.execution.orders import bracket

T0 = datetime(2020, 1, 6, 15, 0, tzinfo=UTC)  # 10:00 New York
NO_COSTS = CostSettings(slippage_bps=0, spread_bps=0, commission_min=0, commission_per_share=0)
CASH = Decimal(1_000_000)


def _bar(k: int, o: float, h: float, lo: float, c: float, v: float = 1e6) -> BarSlice:
    start = T0 + timedelta(minutes=k)
    a = lambda x: np.array([x], dtype=float)  # noqa: E731
    return BarSlice(k, start, start + timedelta(minutes=1), a(o), a(h), a(lo), a(c), a(v))


def _broker(costs: CostSettings = NO_COSTS) -> PaperBroker:
    return PaperBroker(["SPY"], costs)


def _at(k: int) -> datetime:
    return T0 + timedelta(minutes=k)


def _order(
    oid: str, side: Side, otype: OrderType, qty: int = 10, limit: str | None = None, stop: str | None = None
) -> Order:
    return Order(
        oid,
        "SPY",
        side,
        qty,
        otype,
        _at(0),
        limit_price=Decimal(limit) if limit else None,
        stop_price=Decimal(stop) if stop else None,
        tif=TimeInForce.GTC,
    )


def _feed(broker: PaperBroker, *bars: BarSlice, cash: Decimal = CASH) -> BrokerReport:
    report = BrokerReport()
    for bar in bars:
        broker.on_bars(bar, cash, report)
    return report


def _status(report: BrokerReport) -> dict[str, OrderStatus]:
    return {o.id: o.status for o in report.orders}


# ---------------------------------------------------------------- stops


def test_sell_stop_gapping_below_fills_at_the_open_worse_than_the_stop() -> None:
    broker = _broker()
    broker.submit(_order("s", Side.SELL, OrderType.STOP, stop="99"), _at(0), BrokerReport())
    report = _feed(broker, _bar(0, 100, 101, 99.5, 100), _bar(1, 97, 98, 96, 97))
    assert [(f.price, f.ts) for f in report.fills] == [(Decimal("97"), _at(1))]


def test_sell_stop_reached_inside_the_bar_fills_at_the_stop_plus_costs() -> None:
    costs = CostSettings(slippage_bps=5, spread_bps=2, commission_min=0, commission_per_share=0)
    broker = _broker(costs)
    broker.submit(_order("s", Side.SELL, OrderType.STOP, stop="99"), _at(0), BrokerReport())
    report = _feed(broker, _bar(0, 100, 100.5, 98, 98.5))
    assert report.fills[0].price == adverse_price(Decimal("99"), Side.SELL, Decimal("6"))  # 98.9406


def test_buy_stop_triggers_on_the_high_and_the_trigger_is_an_event_with_a_reason() -> None:
    broker = _broker()
    broker.submit(_order("b", Side.BUY, OrderType.STOP, stop="101"), _at(0), BrokerReport())
    report = _feed(broker, _bar(0, 100, 100.9, 99, 100), _bar(1, 100, 101.5, 99.8, 101.2))
    assert [e.kind for e in report.events] == ["order.triggered", "order.filled"]
    assert "reached" in report.events[0].payload["reason"]
    assert report.orders[0].triggered_at == _at(1)
    assert report.fills[0].price == Decimal("101")


def test_triggered_stop_left_unfilled_by_the_volume_cap_keeps_working_as_a_market_order() -> None:
    broker = _broker()
    broker.submit(_order("s", Side.SELL, OrderType.STOP, qty=150, stop="99"), _at(0), BrokerReport())
    report = _feed(broker, _bar(0, 100, 100, 98, 98, v=1000), _bar(1, 100, 100.5, 99.5, 100, v=1000))
    assert [(f.qty, f.price) for f in report.fills] == [(100, Decimal("99")), (50, Decimal("100"))]
    assert report.orders[-1].status is OrderStatus.FILLED


def test_stop_limit_triggered_beyond_its_limit_rests_and_fills_later_as_a_limit() -> None:
    broker = _broker()
    order = _order("sl", Side.BUY, OrderType.STOP_LIMIT, stop="101", limit="100.5")
    broker.submit(order, _at(0), BrokerReport())
    report = _feed(broker, _bar(0, 100, 102, 99, 101.8))  # triggers at 101 > limit: no fill this bar
    assert report.fills == [] and report.orders[-1].triggered_at == _at(0)
    report = _feed(broker, _bar(1, 101.5, 101.9, 101.0, 101.2))  # never below 100.5
    assert report.fills == []
    report = _feed(broker, _bar(2, 100.8, 101, 100.2, 100.4))
    assert [f.price for f in report.fills] == [Decimal("100.5")]


def test_stop_limit_that_gaps_fills_at_the_limit_if_the_bar_comes_back_through_it() -> None:
    broker = _broker()
    order = _order("sl", Side.SELL, OrderType.STOP_LIMIT, stop="99", limit="98.5")
    broker.submit(order, _at(0), BrokerReport())
    report = _feed(broker, _bar(0, 98, 99.2, 97.5, 98.9))  # gap below stop and limit; trades back above 98.5
    assert [f.price for f in report.fills] == [Decimal("98.5")]


def test_stop_limit_with_its_limit_inside_the_trigger_fills_at_the_stop() -> None:
    broker = _broker()
    order = _order("sl", Side.SELL, OrderType.STOP_LIMIT, stop="99", limit="98.5")
    broker.submit(order, _at(0), BrokerReport())
    report = _feed(broker, _bar(0, 100, 100, 98, 98.2))
    assert [f.price for f in report.fills] == [Decimal("99")]


# ---------------------------------------------------------------- limits


def test_marketable_limit_pays_market_costs_but_never_more_than_its_limit() -> None:
    costs = CostSettings(slippage_bps=5, spread_bps=2, commission_min=0, commission_per_share=0)
    broker = _broker(costs)
    broker.submit(_order("a", Side.BUY, OrderType.LIMIT, limit="100.03"), _at(0), BrokerReport())
    broker.submit(_order("b", Side.BUY, OrderType.LIMIT, limit="101"), _at(0), BrokerReport())
    report = _feed(broker, _bar(0, 100, 100.5, 99.9, 100))
    prices = {f.order_id: f.price for f in report.fills}
    assert prices == {"a": Decimal("100.03"), "b": Decimal("100.0600")}


# ---------------------------------------------------------------- brackets


def _bracket(qty: int = 100) -> tuple[Order, Order, Order]:
    return bracket(
        "e",
        "SPY",
        Side.BUY,
        qty,
        _at(0),
        stop_loss=Decimal("98"),
        take_profit=Decimal("102"),
        entry_limit=Decimal("99"),
    )


def test_bracket_children_do_not_fill_before_the_entry() -> None:
    broker = _broker()
    broker.submit_bracket(*_bracket(), _at(0), BrokerReport())
    report = _feed(broker, _bar(0, 100, 103, 99.5, 102.5), _bar(1, 102, 104, 99.2, 103))
    assert report.fills == [], "the take-profit price traded, but the entry never did"
    assert set(o.id for o in broker.working) == {"e", "e.sl", "e.tp"}
    assert broker.pending_qty().tolist() == [100.0], "exits are not pending size"


def test_bracket_children_start_on_the_bar_after_the_entry_fill() -> None:
    broker = _broker()
    broker.submit_bracket(*_bracket(), _at(0), BrokerReport())
    report = _feed(broker, _bar(0, 100, 103, 98.5, 102.5))  # entry at 99, then TP's 102 trades: unknown order
    assert [f.order_id for f in report.fills] == ["e"]
    assert [e.kind for e in report.events if e.payload["order_id"] != "e"] == ["order.activated"] * 2
    report = _feed(broker, _bar(1, 102.5, 103, 102.1, 102.8))
    assert [(f.order_id, f.price) for f in report.fills] == [("e.tp", Decimal("102.5"))]


def test_bracket_take_profit_fill_cancels_the_stop_loss() -> None:
    broker = _broker()
    broker.submit_bracket(*_bracket(), _at(0), BrokerReport())
    _feed(broker, _bar(0, 99, 99.5, 98.8, 99.2))
    report = _feed(broker, _bar(1, 100, 102.5, 99.5, 102))
    assert [f.order_id for f in report.fills] == ["e.tp"]
    assert _status(report) == {"e.tp": OrderStatus.FILLED, "e.sl": OrderStatus.CANCELLED}
    assert "OCO" in next(o.reason for o in report.orders if o.id == "e.sl")
    assert broker.working == ()


def test_bracket_with_both_exits_in_one_bar_takes_the_stop_loss() -> None:
    broker = _broker()
    broker.submit_bracket(*_bracket(), _at(0), BrokerReport())
    _feed(broker, _bar(0, 99, 99.5, 98.8, 99.2))
    report = _feed(broker, _bar(1, 100, 102.5, 97.5, 100))
    assert [(f.order_id, f.price) for f in report.fills] == [("e.sl", Decimal("98"))]
    assert _status(report)["e.tp"] is OrderStatus.CANCELLED


def test_bracket_exit_that_gaps_at_the_open_comes_first() -> None:
    broker = _broker()
    broker.submit_bracket(*_bracket(), _at(0), BrokerReport())
    _feed(broker, _bar(0, 99, 99.5, 98.8, 99.2))
    report = _feed(broker, _bar(1, 103, 103.5, 97.5, 100))  # opens above the take-profit: it fills first
    assert [(f.order_id, f.price) for f in report.fills] == [("e.tp", Decimal("103"))]


def test_partial_entry_fills_grow_the_exits_and_an_exit_fill_shrinks_its_sibling() -> None:
    broker = _broker()
    broker.submit_bracket(*_bracket(qty=300), _at(0), BrokerReport())
    _feed(broker, _bar(0, 99, 99.5, 98.8, 99.2, v=1000))  # 100 of 300 (10% of 1,000)
    assert {o.id: o.qty for o in broker.working} == {"e": 300, "e.sl": 100, "e.tp": 100}
    _feed(broker, _bar(1, 99, 99.5, 98.8, 99.2, v=1000))  # 200 of 300
    assert {o.id: o.qty for o in broker.working} == {"e": 300, "e.sl": 200, "e.tp": 200}
    report = _feed(broker, _bar(2, 100, 102.5, 99.5, 102, v=500))  # sells go first: the TP takes the cap
    assert [(f.order_id, f.qty) for f in report.fills] == [("e.tp", 50)]
    report = _feed(broker, _bar(3, 100, 102.5, 99.5, 102, v=600))
    assert [(f.order_id, f.qty) for f in report.fills] == [("e.tp", 60)]
    working = {o.id: (o.qty, o.filled_qty) for o in broker.working}
    held = 200 - 110
    assert working["e.sl"] == (held, 0), "the stop-loss protects exactly what is still held"
    assert working["e.tp"] == (200, 110) and working["e.tp"][0] - working["e.tp"][1] == held
    report = _feed(broker, _bar(4, 99.2, 99.5, 98.5, 99, v=10_000))  # the entry's last 100 fill
    assert [(f.order_id, f.qty) for f in report.fills] == [("e", 100)]
    working = {o.id: (o.qty, o.filled_qty) for o in broker.working}
    assert working == {"e.sl": (held + 100, 0), "e.tp": (300, 110)}


def test_entry_cancelled_before_any_fill_cancels_its_exits() -> None:
    broker = _broker()
    broker.submit_bracket(*_bracket(), _at(0), BrokerReport())
    report = BrokerReport()
    broker.cancel("e", _at(1), "changed my mind", report)
    assert _status(report) == {s: OrderStatus.CANCELLED for s in ("e", "e.sl", "e.tp")}
    assert broker.working == ()


def test_entry_cancelled_after_a_partial_fill_leaves_its_exits_protecting_the_shares() -> None:
    broker = _broker()
    broker.submit_bracket(*_bracket(qty=300), _at(0), BrokerReport())
    _feed(broker, _bar(0, 99, 99.5, 98.8, 99.2, v=1000))
    broker.cancel("e", _at(1), "enough", BrokerReport())
    assert {o.id: o.qty for o in broker.working} == {"e.sl": 100, "e.tp": 100}


def test_exit_without_a_working_entry_is_rejected() -> None:
    broker = _broker()
    _, sl, _ = _bracket()
    report = BrokerReport()
    broker.submit(sl, _at(0), report)
    assert report.orders[0].status is OrderStatus.REJECTED


# ---------------------------------------------------------------- cancel / replace, time in force


def test_replace_cancels_the_old_order_and_links_the_successor_and_the_children() -> None:
    broker = _broker()
    broker.submit_bracket(*_bracket(), _at(0), BrokerReport())
    report = BrokerReport()
    new = broker.replace("e", _at(2), report, limit_price=Decimal("99.5"))
    assert new is not None and new.id == "e.r" and new.replaces == "e" and new.created_at == _at(2)
    assert new.limit_price == Decimal("99.5") and new.status is OrderStatus.ACCEPTED
    assert _status(report)["e"] is OrderStatus.CANCELLED
    assert next(o.reason for o in report.orders if o.id == "e") == "replaced by e.r"
    assert {o.parent_id for o in broker.working if o.id != "e.r"} == {"e.r"}
    fills = _feed(broker, _bar(1, 99.4, 99.6, 99.2, 99.4), _bar(2, 99.4, 99.6, 99.2, 99.4)).fills
    assert [(f.order_id, f.ts) for f in fills] == [("e.r", _at(2))], "the successor starts at the replace time"


def test_replace_of_a_closed_order_returns_none() -> None:
    assert _broker().replace("nope", _at(0), BrokerReport()) is None


def test_day_order_created_after_the_close_works_the_next_session_and_then_expires() -> None:
    friday_close = datetime(2020, 1, 10, 21, 0, tzinfo=UTC)  # Friday 16:00 New York
    monday = datetime(2020, 1, 13, 14, 30, tzinfo=UTC)
    tuesday = monday + timedelta(days=1)
    broker = _broker()
    order = Order("d", "SPY", Side.BUY, 1, OrderType.LIMIT, friday_close, limit_price=Decimal("50"))
    broker.submit(order, friday_close, BrokerReport())
    day = lambda t: BarSlice(0, t, t + timedelta(hours=6, minutes=30), *(np.array([100.0]) for _ in range(5)))  # noqa: E731
    assert _feed(broker, day(monday)).orders == []
    report = _feed(broker, day(tuesday))
    assert _status(report) == {"d": OrderStatus.EXPIRED}


# ---------------------------------------------------------------- latency, halts, capacity


def test_latency_makes_an_order_wait_for_a_bar_opening_after_it() -> None:
    costs = NO_COSTS.model_copy(update={"execution": ExecutionSettings(latency_ms=61_000)})
    broker = _broker(costs)
    broker.submit(_order("m", Side.BUY, OrderType.MARKET), _at(0), BrokerReport())
    report = _feed(broker, _bar(0, 100, 100, 100, 100), _bar(1, 101, 101, 101, 101), _bar(2, 102, 102, 102, 102))
    assert [(f.ts, f.price) for f in report.fills] == [(_at(2), Decimal("102"))]


def test_halted_symbol_and_zero_volume_bars_never_fill() -> None:
    costs = NO_COSTS.model_copy(update={"execution": ExecutionSettings(halted_symbols=("SPY",))})
    halted = _broker(costs)
    halted.submit(_order("m", Side.BUY, OrderType.MARKET), _at(0), BrokerReport())
    assert _feed(halted, _bar(0, 100, 100, 100, 100)).fills == []
    halted.resume("SPY")
    assert len(_feed(halted, _bar(1, 100, 100, 100, 100)).fills) == 1

    broker = _broker()
    broker.submit(_order("m", Side.BUY, OrderType.MARKET), _at(0), BrokerReport())
    assert _feed(broker, _bar(0, 100, 100, 100, 100, v=0)).fills == []
    broker.halt("SPY")
    assert _feed(broker, _bar(1, 100, 100, 100, 100)).fills == []


def test_weekend_and_after_hours_bars_do_not_fill_unless_the_calendar_is_off() -> None:
    saturday = datetime(2020, 1, 11, 15, 0, tzinfo=UTC)
    bar = BarSlice(0, saturday, saturday + timedelta(minutes=1), *(np.array([100.0]) for _ in range(5)))
    order = Order("m", "SPY", Side.BUY, 1, OrderType.MARKET, saturday - timedelta(hours=1), tif=TimeInForce.GTC)
    strict = _broker()
    strict.submit(order, order.created_at, BrokerReport())
    assert _feed(strict, bar).fills == []
    loose = _broker(NO_COSTS.model_copy(update={"execution": ExecutionSettings(enforce_calendar=False)}))
    loose.submit(order, order.created_at, BrokerReport())
    assert len(_feed(loose, bar).fills) == 1


def test_volume_cap_is_shared_by_all_orders_in_a_symbol() -> None:
    broker = _broker()
    broker.submit(_order("a", Side.BUY, OrderType.MARKET, qty=80), _at(0), BrokerReport())
    broker.submit(_order("b", Side.BUY, OrderType.MARKET, qty=80), _at(0), BrokerReport())
    report = _feed(broker, _bar(0, 100, 100, 100, 100, v=1000))
    assert [(f.order_id, f.qty) for f in report.fills] == [("a", 80), ("b", 20)]
    assert {o.id: o.status for o in broker.working} == {"b": OrderStatus.PARTIALLY_FILLED}


# ---------------------------------------------------------------- the Order value type


def test_stop_orders_need_a_stop_price_and_stop_limits_both_prices() -> None:
    with pytest.raises(ValueError):
        Order("s", "SPY", Side.SELL, 1, OrderType.STOP, T0)
    with pytest.raises(ValueError):
        Order("s", "SPY", Side.SELL, 1, OrderType.STOP_LIMIT, T0, stop_price=Decimal("1"))


def test_trigger_and_amend_keep_the_status_and_refuse_closed_orders() -> None:
    order = Order("s", "SPY", Side.SELL, 10, OrderType.STOP, T0, stop_price=Decimal("9")).accept(T0)
    triggered = order.trigger(T0, "reached")
    assert triggered.status is OrderStatus.ACCEPTED and triggered.is_triggered
    with pytest.raises(InvalidTransitionError):
        triggered.trigger(T0, "again")
    partial = triggered.fill(4, Decimal("9"), T0).amend(T0, "resize", qty=6)
    assert partial.status is OrderStatus.PARTIALLY_FILLED and partial.remaining == 2
    with pytest.raises(InvalidTransitionError):
        partial.amend(T0, "too small", qty=4)
    with pytest.raises(InvalidTransitionError):
        partial.cancel(T0, "x").amend(T0, "closed", qty=8)


def test_replacing_a_partly_filled_entry_leaves_its_exits_protecting_what_it_bought() -> None:
    broker = _broker()
    broker.submit_bracket(*_bracket(qty=300), _at(0), BrokerReport())
    _feed(broker, _bar(0, 99, 99.5, 98.8, 99.2, v=1000))  # 100 of 300
    new = broker.replace("e", _at(1), BrokerReport(), limit_price=Decimal("98.9"))
    assert new is not None and new.qty == 200 and new.replaces == "e"
    exits = {o.id: (o.qty, o.parent_id) for o in broker.working if o.id != "e.r"}
    assert exits == {"e.sl": (100, "e"), "e.tp": (100, "e")}
    report = _feed(broker, _bar(1, 100, 100.5, 97.5, 98))
    assert [(f.order_id, f.qty) for f in report.fills] == [("e.sl", 100), ("e.r", 200)]
