"""The pure fill-model functions: path model per order type, costs with caps, impact, capacity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from papertrader.config.settings import CostSettings, ExecutionSettings
from papertrader.domain.types import Order, OrderType, Side
from papertrader.execution.broker import BarSlice, BrokerReport, PaperBroker
from papertrader.execution.fills import Match, adverse_choice, cost_price, match_order, sqrt_impact_bps, volume_capacity
from papertrader.execution.market import MarketInputs, QuoteSlice

T0 = datetime(2020, 1, 6, 15, tzinfo=UTC)
D = Decimal


def _o(side: Side, otype: OrderType, limit: str | None = None, stop: str | None = None) -> Order:
    return Order(
        "o",
        "SPY",
        side,
        10,
        otype,
        T0,
        limit_price=D(limit) if limit else None,
        stop_price=D(stop) if stop else None,
    ).accept(T0)


@pytest.mark.parametrize(
    "side,otype,limit,stop,bar,expected",
    [
        (Side.BUY, OrderType.MARKET, None, None, (100, 101, 99), Match(D(100), True, True)),
        (Side.BUY, OrderType.LIMIT, "99", None, (100, 101, 99), None),  # a touch is not a fill
        (Side.BUY, OrderType.LIMIT, "99", None, (100, 101, 98.9), Match(D(99), False, False)),
        (Side.SELL, OrderType.LIMIT, "99", None, (100, 101, 98), Match(D(100), True, True, cap=D(99))),
        (Side.SELL, OrderType.STOP, None, "99", (98, 99.5, 97), Match(D(98), True, True, True)),
        (Side.SELL, OrderType.STOP, None, "99", (100, 100, 99), Match(D(99), False, True, True)),
        (Side.BUY, OrderType.STOP, None, "101", (100, 100.99, 99), None),
        (Side.BUY, OrderType.STOP_LIMIT, "102", "101", (100, 103, 99), Match(D(101), False, True, True, D(102))),
        (Side.BUY, OrderType.STOP_LIMIT, "100.5", "101", (100, 103, 99), Match(None, False, False, True)),
        (Side.BUY, OrderType.STOP_LIMIT, "100.5", "101", (102, 103, 100), Match(D("100.5"), False, False, True)),
        (Side.BUY, OrderType.STOP_LIMIT, "100.5", "101", (102, 103, 100.5), Match(None, True, False, True)),
    ],
)
def test_path_model_per_order_type(
    side: Side,
    otype: OrderType,
    limit: str | None,
    stop: str | None,
    bar: tuple[float, float, float],
    expected: Match | None,
) -> None:
    o, h, lo = (D(str(x)) for x in bar)
    assert match_order(_o(side, otype, limit, stop), o, h, lo) == expected


def test_cost_price_moves_against_the_trader_and_respects_a_limit_cap() -> None:
    assert cost_price(D(100), Side.BUY, D(6)) == D("100.0600")
    assert cost_price(D(100), Side.SELL, D(6)) == D("99.9400")
    assert cost_price(D(100), Side.BUY, D(6), cap=D("100.03")) == D("100.03")
    assert cost_price(D(100), Side.SELL, D(6), cap=D("99.97")) == D("99.97")


def test_square_root_impact_is_k_sigma_sqrt_participation() -> None:
    assert sqrt_impact_bps(10_000, 1_000_000, 0.02, 1.0) == pytest.approx(0.02 * 0.1 * 1e4)
    assert sqrt_impact_bps(40_000, 1_000_000, 0.02, 0.5) == pytest.approx(0.5 * 0.02 * 0.2 * 1e4)
    assert sqrt_impact_bps(10_000, float("nan"), 0.02, 1.0) == 0.0
    assert sqrt_impact_bps(10_000, 1e6, 0.02, 0.0) == 0.0


def test_volume_capacity_rounds_down_and_none_means_no_cap() -> None:
    assert volume_capacity(1_234, 0.1) == 123
    assert volume_capacity(0, 0.1) == 0 and volume_capacity(float("nan"), 0.1) == 0
    assert volume_capacity(5, None) > 10**12


def test_adverse_choice_prefers_a_fill_at_the_open_then_the_worst_price() -> None:
    sl = _o(Side.SELL, OrderType.STOP, stop="98")
    tp = _o(Side.SELL, OrderType.LIMIT, limit="102")
    assert adverse_choice([(tp, Match(D(102), False, False)), (sl, Match(D(98), False, True))])[0] is sl
    assert adverse_choice([(sl, Match(D(98), False, True)), (tp, Match(D(103), True, True))])[0] is tp


def _bar(v: float = 1e6) -> BarSlice:
    a = lambda x: np.array([x])  # noqa: E731
    return BarSlice(
        1, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2), a(100.0), a(101.0), a(99.0), a(100.0), a(v)
    )


def _fill_price(costs: CostSettings, **kwargs: object) -> Decimal:
    broker = PaperBroker(["SPY"], costs)
    broker.submit(Order("m", "SPY", Side.BUY, 10_000, OrderType.MARKET, T0), T0, BrokerReport())
    report = BrokerReport()
    broker.on_bars(_bar(), Decimal(10**8), report, **kwargs)  # type: ignore[arg-type]
    return report.fills[0].price


def test_broker_adds_square_root_impact_from_caller_inputs() -> None:
    costs = CostSettings(slippage_bps=0, spread_bps=0)
    market = MarketInputs(sigma=np.array([0.02]), adv=np.array([1_000_000.0]))
    assert _fill_price(costs) == D("100.0000")
    assert _fill_price(costs, market=market) == D("100.2000")  # 1.0 * 0.02 * sqrt(0.01) = 20 bps


def test_broker_uses_the_estimated_spread_only_when_configured() -> None:
    market = MarketInputs(sigma=np.array([np.nan]), adv=np.array([np.nan]), spread_bps=np.array([8.0]))
    fixed = CostSettings(slippage_bps=0, spread_bps=2)
    estimate = fixed.model_copy(update={"execution": ExecutionSettings(spread_model="estimate")})
    assert _fill_price(fixed, market=market) == D("100.0100")
    assert _fill_price(estimate, market=market) == D("100.0400")
    assert _fill_price(estimate) == D("100.0100"), "no estimate yet: fall back to the fixed spread"


def test_broker_pays_the_real_ask_when_quotes_are_given() -> None:
    costs = CostSettings(slippage_bps=1, spread_bps=2)
    quote = QuoteSlice(bid=np.array([99.98]), ask=np.array([100.03]))
    assert _fill_price(costs, quotes=quote) == D("100.0400")  # ask 100.03 + 1 bp slippage
