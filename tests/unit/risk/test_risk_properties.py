"""Property tests: limits hold for any prices and signals, the kill switch and daily limit behave exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.config.settings import RiskSettings
from papertrader.risk.buckets import Bucket, classify
from papertrader.risk.engine import RiskEngine, RiskInputs
from papertrader.risk.limits import DailyLossLimit, DrawdownKillSwitch

T0 = datetime(2020, 1, 2, 21, tzinfo=UTC)
SYMBOLS = ("AAPL", "MSFT", "SPY", "PENNY")
RISK = RiskSettings(core_cap=0.5, etf_cap=0.3, speculative_cap=0.05, max_position_fraction=0.3)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.lists(st.floats(-1, 1), min_size=4, max_size=4),  # signals
            st.lists(st.floats(0.8, 1.25), min_size=4, max_size=4),  # price moves
            st.lists(st.floats(0.05, 1.5), min_size=4, max_size=4),  # volatility
        ),
        min_size=1,
        max_size=25,
    )
)
def test_no_prices_and_signals_push_exposure_past_a_limit_after_a_decision(
    steps: list[tuple[list[float], list[float], list[float]]],
) -> None:
    risk = RiskEngine(SYMBOLS, RISK, rebalance_band=0.05)
    prices = np.array([150.0, 250.0, 300.0, 3.0])
    held = np.zeros(4)
    cash = 1_000_000.0
    slack = RISK.limit_tolerance + 1e-9
    for signal, move, vol in steps:
        prices = prices * np.array(move)
        equity = cash + float(held @ prices)
        plan = risk.plan(T0, np.array(signal), prices, held, equity, RiskInputs(volatility=np.array(vol)))
        for intent in plan.intents:  # fill at the decision price: the plan itself is what is checked
            held[intent.index] += intent.qty
            cash -= intent.qty * prices[intent.index]
        weights = held * prices / equity
        assert (held >= 0).all(), "no shorts"
        assert (np.abs(weights) <= RISK.max_position_fraction + slack).all()
        buckets = classify(SYMBOLS, prices, set(RISK.etfs), RISK.penny_below)
        for bucket, cap in ((Bucket.CORE, 0.5), (Bucket.ETF, 0.3), (Bucket.SPECULATIVE, 0.05)):
            assert np.abs(weights[buckets == bucket]).sum() <= cap + slack
        assert np.abs(weights).sum() <= 1 - RISK.cash_reserve + slack


@given(st.lists(st.floats(50_000, 150_000), min_size=1, max_size=60))
def test_kill_switch_fires_on_the_first_observation_past_the_threshold_and_only_once(curve: list[float]) -> None:
    switch = DrawdownKillSwitch(0.08)
    fired = [i for i, equity in enumerate(curve) if switch.observe(equity)]
    peaks = np.maximum.accumulate(curve)
    crossing = [i for i, (e, p) in enumerate(zip(curve, peaks, strict=True)) if e / p - 1 < -0.08]
    assert fired == crossing[:1]


def test_daily_loss_limit_blocks_entries_until_the_next_session_then_resets() -> None:
    limit = DailyLossLimit(0.025)
    day1, day2 = date(2020, 1, 2), date(2020, 1, 3)
    assert not limit.observe(day1, 100_000)
    assert limit.observe(day1, 97_400) and limit.hit
    assert not limit.observe(day1, 96_000) and limit.hit, "fires once, stays hit for the session"
    assert not limit.observe(day2, 96_500) and not limit.hit, "a new session resets"
    assert limit.start_equity == 96_000, "the new session starts from the previous close"


def test_daily_limit_hit_denies_new_entries_but_lets_exits_through() -> None:
    risk = RiskEngine(("A", "B"), RiskSettings(max_position_fraction=0.4), rebalance_band=0.0)
    session = date(2020, 1, 2)
    risk.observe(T0, session, 100_000)
    risk.observe(T0 + timedelta(hours=1), session, 97_000)
    plan = risk.plan(T0, np.array([0.3, 0.0]), np.array([100.0, 50.0]), np.array([0.0, 100.0]), 97_000)
    assert [(i.symbol, i.qty) for i in plan.intents] == [("B", -100)]
    assert any(e.kind == "order.denied" and e.payload["rule"] == "daily_loss_limit" for e in plan.events)
