"""The drawdown budget: sizing shrinks smoothly with the room above the floor and grows back with equity."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.config.settings import RiskSettings
from papertrader.risk.drawdown import (
    UNKNOWN_BAR_VOL,
    bar_sigma,
    budget_fraction,
    budget_limit,
    budget_scale,
    crossed,
    floor_equity,
    gap_loss,
    guard_levels,
    guard_plan,
    one_bar_loss,
)
from papertrader.risk.engine import RiskEngine, RiskInputs

T0 = datetime(2020, 1, 2, 21, tzinfo=UTC)


def test_budget_is_the_limit_at_a_new_peak_and_zero_at_the_floor() -> None:
    assert math.isclose(budget_fraction(100.0, 100.0, 0.08), 0.08)
    assert budget_fraction(92.0, 100.0, 0.08) == 0.0
    assert budget_fraction(90.0, 100.0, 0.08) == 0.0, "past the floor there is no budget, never a negative one"
    assert math.isclose(budget_fraction(96.0, 100.0, 0.08), 1 - 92 / 96)
    assert floor_equity(100.0, 0.08) == 92.0
    assert math.isclose(budget_limit(0.08, 0.005), 0.075) and budget_limit(0.01, 0.05) == 0.0


def test_unknown_volatility_counts_as_a_wild_stock() -> None:
    sigma = bar_sigma(np.array([0.16, math.nan, -1.0]), 252.0)
    assert math.isclose(sigma[0], 0.16 / math.sqrt(252))
    assert sigma[1] == UNKNOWN_BAR_VOL and sigma[2] == UNKNOWN_BAR_VOL


@settings(max_examples=200, deadline=None)
@given(
    w=st.lists(st.floats(-1, 1), min_size=1, max_size=5),
    sigma=st.floats(0.001, 0.1),
    b1=st.floats(0.0, 0.1),
    b2=st.floats(0.0, 0.1),
)
def test_budget_scale_fits_the_bad_bar_inside_the_budget_and_grows_with_it(
    w: list[float], sigma: float, b1: float, b2: float
) -> None:
    weights = np.array(w)
    s = np.full(len(w), sigma)
    lo, hi = sorted((b1, b2))
    small, large = (budget_scale(weights, s, b, 2.33, 0.05, 0.0015) for b in (lo, hi))
    assert 0.0 <= small <= large <= 1.0, "exposure shrinks as the budget does and recovers as it grows"
    assert one_bar_loss(weights * small, s, 2.33, 0.05, 0.0015) <= lo + 1e-12


def test_risk_engine_scales_exposure_in_proportion_to_the_budget_and_says_why() -> None:
    risk = RiskEngine(("SPY", "QQQ"), RiskSettings(), rebalance_band=0.0)
    vol = np.array([0.16, 0.16])
    target = np.array([0.25, 0.25])
    prices = np.array([100.0, 100.0])
    full, _ = risk.limit_weights(target, prices, RiskInputs(volatility=vol, budget=0.08))
    half, rule = risk.limit_weights(target, prices, RiskInputs(volatility=vol, budget=0.03))
    none, _ = risk.limit_weights(target, prices, RiskInputs(volatility=vol, budget=0.0))
    assert np.allclose(full, target), "at a new peak an ETF book this size fits the budget"
    assert 0 < half.sum() < full.sum() and rule == ["drawdown_budget", "drawdown_budget"]
    assert not none.any(), "no budget left: no exposure"
    plan = risk.plan(T0, target, prices, np.zeros(2), 100_000.0, RiskInputs(volatility=vol, budget=0.03))
    assert {e.payload["rule"] for e in plan.events if e.kind == "order.reduced"} == {"drawdown_budget"}


def test_a_held_book_that_outgrew_a_shrunken_budget_is_trimmed_despite_the_band() -> None:
    risk = RiskEngine(("SPY",), RiskSettings(), rebalance_band=0.2)
    held = np.array([200.0])  # 20% of equity at 100, inside the 0.2 band of a 0.25 target
    risk.observe(T0, date(2020, 1, 2), 100_000.0)
    vol = np.array([0.16])
    target, price = np.array([0.25]), np.array([100.0])
    keep = risk.plan(T0, target, price, held, 100_000.0, RiskInputs(volatility=vol, budget=0.075))
    trim = risk.plan(T0, target, price, held, 100_000.0, RiskInputs(volatility=vol, budget=0.005))
    assert not keep.intents
    assert trim.intents and trim.intents[0].qty < 0


def test_guard_plan_keeps_trims_or_exits_by_the_room_left_for_a_gap() -> None:
    calm = guard_plan(100.0, 50.0, 92.0, 0.05, 0.0)
    assert calm.keep == 1.0 and math.isclose(calm.move, 8 / 50 - 0.05)
    tight = guard_plan(100.0, 100.0, 96.0, 0.05, 0.0)  # 4% of room cannot hold a 5% gap on the whole book
    assert 0 < tight.keep < 1 and math.isclose(tight.keep * 100 * (2 * 0.05), 4.0)
    gone = guard_plan(91.0, 80.0, 92.0, 0.05, 0.0)
    assert gone.keep == 0.0, "already past the floor at the open: out at the open"
    assert guard_plan(100.0, 0.0, 92.0, 0.05, 0.0).move == math.inf


def test_levels_sit_the_allowed_move_from_the_reference_and_trigger_on_the_adverse_extreme() -> None:
    qty = np.array([10.0, -5.0, 0.0])
    levels = guard_levels(np.array([100.0, 50.0, 20.0]), qty, 0.04)
    assert np.allclose(levels[:2], [96.0, 52.0]) and math.isnan(levels[2])
    hit = crossed(levels, qty, low=np.array([95.0, 49.0, 1.0]), high=np.array([101.0, 51.0, 30.0]))
    assert hit.tolist() == [True, False, False]


def test_gap_loss_counts_only_carried_positions_against_their_last_close() -> None:
    loss, exposure = gap_loss(np.array([10.0, 0.0, -4.0]), np.array([100.0, 50.0, 25.0]), np.array([90.0, 10.0, 30.0]))
    assert math.isclose(loss, 100.0 + 20.0) and math.isclose(exposure, 1000.0 + 100.0)
