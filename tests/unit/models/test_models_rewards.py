"""Reward terms as pure functions: returns net of costs, the differential Sharpe ratio, drawdown penalties."""

from __future__ import annotations

import math

import pytest

from papertrader.models.rl.rewards import (
    RewardWeights,
    SharpeState,
    cost_fraction,
    differential_sharpe,
    drawdown,
    drawdown_increase,
    step_return,
    step_reward,
)


def test_step_return_and_cost_fraction_are_relative_to_equity_before() -> None:
    assert step_return(100_000.0, 101_000.0) == pytest.approx(0.01)
    assert step_return(0.0, 5.0) == 0.0
    assert cost_fraction(50.0, 100_000.0) == pytest.approx(0.0005)
    assert cost_fraction(-3.0, 100_000.0) == 0.0  # a rebate is never a reward


def test_differential_sharpe_matches_moody_saffell_formula() -> None:
    state = SharpeState(mean=0.001, second=0.0002)
    ret, eta = 0.004, 0.01
    term, new = differential_sharpe(ret, state, eta)
    d_a, d_b = ret - state.mean, ret * ret - state.second
    expected = (state.second * d_a - 0.5 * state.mean * d_b) / (state.second - state.mean**2) ** 1.5
    assert term == pytest.approx(expected)
    assert new.mean == pytest.approx(state.mean + eta * d_a)
    assert new.second == pytest.approx(state.second + eta * d_b)


def test_differential_sharpe_rewards_above_average_and_punishes_below() -> None:
    state = SharpeState(mean=0.0005, second=1e-4)
    good, _ = differential_sharpe(0.01, state, 0.01)
    bad, _ = differential_sharpe(-0.01, state, 0.01)
    assert good > 0 > bad


def test_differential_sharpe_is_zero_without_variance() -> None:
    term, new = differential_sharpe(0.01, SharpeState(), 0.01)
    assert term == 0.0
    assert new.mean == pytest.approx(1e-4)


def test_drawdown_penalty_is_paid_once_when_the_hole_deepens() -> None:
    assert drawdown(90.0, 100.0) == pytest.approx(0.1)
    deeper, peak = drawdown_increase(95.0, 90.0, 100.0)
    assert deeper == pytest.approx(0.05)
    assert peak == 100.0
    recovering, _ = drawdown_increase(90.0, 93.0, 100.0)
    assert recovering == 0.0
    new_high, peak = drawdown_increase(100.0, 104.0, 100.0)
    assert (new_high, peak) == (0.0, 104.0)


def test_step_reward_is_net_return_plus_weighted_terms() -> None:
    weights = RewardWeights(sharpe=0.01, drawdown=0.5, cost=1.0)
    state = SharpeState(0.0, 1e-4)
    parts = step_reward(100_000.0, 99_000.0, 40.0, 100_000.0, state, weights)
    gross, cost = -0.01, 40.0 / 100_000.0
    dd = 1.0 - (99_000.0 - 40.0) / 100_000.0
    assert parts.gross_return == pytest.approx(gross)
    assert parts.cost == pytest.approx(cost)
    assert parts.drawdown_penalty == pytest.approx(0.5 * dd)
    assert parts.reward == pytest.approx(gross - cost + 0.01 * parts.sharpe_term - 0.5 * dd)
    assert parts.sharpe_term < 0


def test_costs_always_lower_the_reward() -> None:
    w, s = RewardWeights(), SharpeState(0.0, 1e-4)
    free = step_reward(100_000.0, 100_500.0, 0.0, 100_000.0, s, w)
    paid = step_reward(100_000.0, 100_500.0, 60.0, 100_000.0, s, w)
    assert paid.reward < free.reward
    assert math.isfinite(paid.reward)
