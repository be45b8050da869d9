from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from papertrader.config.settings import RiskSettings
from papertrader.risk.engine import RiskEngine

T0 = datetime(2020, 1, 2, tzinfo=UTC)
SYMBOLS = ("A", "B", "C", "D")


def test_position_cap_reduces_the_order_and_says_why() -> None:
    risk = RiskEngine(SYMBOLS[:1], RiskSettings(max_position_fraction=0.25), rebalance_band=0.05)
    plan = risk.plan(T0, np.array([1.0]), np.array([100.0]), np.array([0.0]), 100_000)
    assert [i.qty for i in plan.intents] == [250]
    assert plan.events[0].kind == "order.reduced" and plan.events[0].payload["rule"] == "max_position_fraction"


def test_short_targets_are_denied_when_shorting_is_off() -> None:
    risk = RiskEngine(SYMBOLS[:1], RiskSettings(), rebalance_band=0.05)
    plan = risk.plan(T0, np.array([-0.2]), np.array([100.0]), np.array([0.0]), 100_000)
    assert plan.intents == []
    assert plan.events[0].kind == "order.denied" and plan.events[0].payload["rule"] == "no_short"


def test_small_orders_are_denied_but_exits_always_pass() -> None:
    risk = RiskEngine(SYMBOLS[:2], RiskSettings(min_order_notional=500), rebalance_band=0.0)
    plan = risk.plan(T0, np.array([0.001, 0.0]), np.array([10.0, 10.0]), np.array([0.0, 3.0]), 100_000)
    assert [(i.symbol, i.qty) for i in plan.intents] == [("B", -3)]
    assert plan.events[0].payload["rule"] == "min_order_notional"


def test_held_position_is_not_churned_inside_the_rebalance_band() -> None:
    risk = RiskEngine(SYMBOLS[:1], RiskSettings(), rebalance_band=0.05)
    plan = risk.plan(T0, np.array([0.20]), np.array([104.0]), np.array([220.0]), 105_000)  # 21.8% held
    assert plan.intents == []


def test_a_position_that_drifted_past_its_cap_and_tolerance_is_trimmed_inside_the_band() -> None:
    risk = RiskEngine(SYMBOLS[:1], RiskSettings(), rebalance_band=0.05)
    plan = risk.plan(T0, np.array([0.25]), np.array([112.0]), np.array([250.0]), 105_000)  # 26.7% held
    assert [i.target_qty for i in plan.intents] == [234]  # 25% of 105,000 at 112


@given(
    st.lists(st.floats(-1, 1), min_size=4, max_size=4),
    st.lists(st.floats(0.5, 1000), min_size=4, max_size=4),
    st.floats(1_000, 10_000_000),
)
def test_planned_positions_never_exceed_position_or_gross_limits(
    weights: list[float], prices: list[float], equity: float
) -> None:
    settings = RiskSettings(max_position_fraction=0.3, max_gross_exposure=0.9)
    risk = RiskEngine(SYMBOLS, settings, rebalance_band=0.0)
    p = np.array(prices)
    plan = risk.plan(T0, np.array(weights), p, np.zeros(4), equity)
    after = np.zeros(4)
    for intent in plan.intents:
        after[intent.index] += intent.qty
    exposure = np.abs(after) * p / equity
    assert (after >= 0).all()
    assert (exposure <= 0.3 + 1e-9).all()
    assert exposure.sum() <= 0.9 + 1e-9


def test_a_target_that_sizing_raised_is_logged_as_resized_not_reduced() -> None:
    # Kelly sizes a 0.27% target up to 10%, then vol_target trims it to 5%: a net increase is not a cut
    from papertrader.risk.engine import RiskInputs

    risk = RiskEngine(SYMBOLS[:1], RiskSettings(vol_target=0.1), rebalance_band=0.0)
    inputs = RiskInputs(p_win=np.array([0.7]), payoff=np.array([1.0]), volatility=np.array([0.2]))
    plan = risk.plan(T0, np.array([0.0027]), np.array([100.0]), np.array([0.0]), 100_000, inputs)
    event = next(e for e in plan.events if e.payload.get("rule") == "vol_target")
    assert event.kind == "order.resized"
    assert event.payload["allowed_weight"] > event.payload["requested_weight"]


def test_a_net_cut_by_a_limit_stays_order_reduced() -> None:
    from papertrader.risk.engine import RiskInputs

    risk = RiskEngine(SYMBOLS[:1], RiskSettings(vol_target=0.1), rebalance_band=0.0)
    inputs = RiskInputs(volatility=np.array([0.4]))
    plan = risk.plan(T0, np.array([0.2]), np.array([100.0]), np.array([0.0]), 100_000, inputs)
    assert [e.kind for e in plan.events if e.payload.get("rule") == "vol_target"] == ["order.reduced"]
