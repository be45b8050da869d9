"""The int64 fixed-point schedules equal the Decimal arithmetic of execution.fees, digit for digit.

Synthetic prices and quantities: these pin arithmetic, not market behaviour.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.config.settings import CostSettings
from papertrader.domain.types import Order, OrderType, Side
from papertrader.execution.fees import adverse_price, fill_fee, to_decimal
from papertrader.execution.fixedpoint import (
    FeeSchedule,
    MarketPricer,
    decimal_parts,
    fee_decimal,
    grid_tick,
    grid_ticks,
    price_decimal,
)

T = datetime(2020, 1, 6, 14, 30, tzinfo=UTC)
BPS = st.one_of(
    st.sampled_from([0.0, 0.5, 1.0, 2.5, 5.0, 7.0, 12.345]), st.floats(0, 500, allow_nan=False, width=32).map(float)
)
TICKS = st.integers(1, 10**10)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_decimal_parts_are_an_exact_fraction_of_a_power_of_ten(value: Decimal) -> None:
    n, p = decimal_parts(value)
    assert p >= 0 and Fraction(n, 10**p) == Fraction(value)


@settings(max_examples=300)
@given(st.lists(TICKS, min_size=1, max_size=8), st.lists(st.booleans(), min_size=8, max_size=8), BPS, BPS)
def test_market_prices_in_ticks_equal_adverse_price(
    ticks: list[int], buys: list[bool], slip: float, spread: float
) -> None:
    adverse = to_decimal(slip) + to_decimal(spread) / 2  # as the broker builds it without market inputs
    pricer = MarketPricer.for_costs(adverse)
    side = np.array(buys[: len(ticks)])
    got = None if pricer is None else pricer.ticks(np.array(ticks, dtype=np.int64), side)
    if got is None:
        return  # the broker then takes the Decimal path
    for t, b, p in zip(ticks, side, got.tolist(), strict=True):
        want = adverse_price(Decimal(t).scaleb(-4), Side.BUY if b else Side.SELL, adverse)
        assert repr(price_decimal(p)) == repr(want)
        assert pricer is not None and pricer.tick(t, bool(b)) == p  # the Python-int twin of a quiet bar


def _costs(model: str, a: float, b: float, c: float) -> CostSettings:
    return CostSettings(
        commission_model=model,  # type: ignore[arg-type]
        commission_bps=a,
        commission_flat=a,
        commission_min=a,
        commission_per_share=b / 1000,
        commission_max_pct=c / 100,
    )


@settings(max_examples=300)
@given(
    st.sampled_from(["bps", "flat", "per_share"]),
    st.floats(0, 50, allow_nan=False),
    st.floats(0, 50, allow_nan=False),
    st.floats(0.01, 5, allow_nan=False),
    st.lists(st.tuples(st.integers(1, 10**8), st.integers(1, 10**6)), min_size=1, max_size=6),
)
def test_first_fill_fees_in_cents_equal_fill_fee(
    model: str, a: float, b: float, c: float, fills: list[tuple[int, int]]
) -> None:
    costs = _costs(model, a, b, c)
    schedule = FeeSchedule.for_costs(costs)
    assert schedule is not None
    price = np.array([p for p, _ in fills], dtype=np.int64)
    qty = np.array([q for _, q in fills], dtype=np.int64)
    got = schedule.cents(price, qty)
    if got is None:
        return  # past int64: the Decimal path
    for (p, q), cents in zip(fills, got.tolist(), strict=True):
        order = Order("o", "SPY", Side.BUY, q, OrderType.MARKET, T)
        want = fill_fee(order, q, price_decimal(p), costs, removes_liquidity=True)
        assert repr(fee_decimal(cents)) == repr(want)
        assert schedule.cent(p, q) == cents  # the Python-int twin of a quiet bar


def test_questrade_schedules_are_left_to_the_decimal_path() -> None:
    assert FeeSchedule.for_costs(CostSettings(commission_model="questrade_classic")) is None
    assert FeeSchedule.for_costs(CostSettings(commission_model="questrade_zero")) is None


def test_grid_ticks_refuse_off_grid_non_finite_and_non_positive_prices() -> None:
    assert grid_ticks(np.array([100.0, 97.31, 0.0001])).tolist() == [1_000_000, 973_100, 1]
    for bad in ([100 / 3], [np.nan], [0.0], [-1.0], [1e12]):
        assert grid_ticks(np.array(bad)) is None


@given(st.one_of(st.integers(1, 10**12).map(lambda t: t / 10**4), st.floats(-10, 1e10)))
def test_grid_ticks_agree_with_the_shortest_repr_and_with_their_one_price_twin(px: float) -> None:
    got = grid_ticks(np.array([px]))
    assert (None if got is None else int(got[0])) == grid_tick(px)
    if got is not None:
        assert Decimal(int(got[0])).scaleb(-4) == to_decimal(px)
    if px * 10**4 == int(px * 10**4) and 0 < px < 1e9 and (int(px * 10**4)) / 10**4 == px:
        assert got is not None
