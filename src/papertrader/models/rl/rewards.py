"""Reward arithmetic for the trading agent: pure functions of one step, so each term is tested on its own.

reward = net return + sharpe_weight * differential Sharpe - drawdown_weight * new drawdown

where the net return is the gross mark-to-market return minus transaction costs (spread, slippage and
commission, as the PaperBroker charges them). The differential Sharpe ratio (Moody and Saffell, 2001) is
the first-order change of an exponentially weighted Sharpe ratio caused by this step's return, so its sum
over an episode rewards a high Sharpe ratio without looking ahead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RewardWeights:
    """How much each term counts; the defaults keep returns dominant and penalties meaningful."""

    sharpe: float = 0.002  # the differential Sharpe is O(1) per step, returns O(0.01): keep returns dominant
    drawdown: float = 0.5
    cost: float = 1.0
    eta: float = 0.01  # decay of the differential Sharpe moving averages (about a 100-step memory)
    prior_volatility: float = 0.01  # per-step volatility the moving second moment starts from
    sharpe_clip: float = 5.0


@dataclass(frozen=True, slots=True)
class SharpeState:
    """Exponential moving first and second moments of returns, carried from step to step."""

    mean: float = 0.0
    second: float = 0.0


@dataclass(frozen=True, slots=True)
class RewardParts:
    """One step's reward and its terms, for logging and tests."""

    reward: float
    gross_return: float
    cost: float
    sharpe_term: float
    drawdown_penalty: float
    state: SharpeState
    peak_equity: float


def step_return(equity_before: float, equity_after: float) -> float:
    """Fractional change of equity over the step; 0 when there was nothing to lose."""
    if equity_before <= 0.0:
        return 0.0
    return equity_after / equity_before - 1.0


def cost_fraction(costs_paid: float, equity_before: float) -> float:
    """Transaction costs of the step as a fraction of equity, so they compare with returns."""
    if equity_before <= 0.0:
        return 0.0
    return max(costs_paid, 0.0) / equity_before


def differential_sharpe(ret: float, state: SharpeState, eta: float) -> tuple[float, SharpeState]:
    """Moody-Saffell differential Sharpe ratio of `ret` and the updated moments (0 while variance is 0)."""
    d_mean = ret - state.mean
    d_second = ret * ret - state.second
    variance = state.second - state.mean * state.mean
    term = 0.0
    if variance > 1e-12:
        term = (state.second * d_mean - 0.5 * state.mean * d_second) / variance**1.5
    new = SharpeState(mean=state.mean + eta * d_mean, second=state.second + eta * d_second)
    return term, new


def drawdown(equity: float, peak: float) -> float:
    """Distance below the running peak as a positive fraction (0 at a new high)."""
    if peak <= 0.0:
        return 0.0
    return max(0.0, 1.0 - equity / peak)


def drawdown_increase(equity_before: float, equity_after: float, peak_before: float) -> tuple[float, float]:
    """How much deeper the drawdown got this step (never negative) and the new peak.

    Penalising only the increase means the agent pays once for digging a hole, not every step it sits in it.
    """
    before = drawdown(equity_before, peak_before)
    peak_after = max(peak_before, equity_after)
    after = drawdown(equity_after, peak_after)
    return max(0.0, after - before), peak_after


def step_reward(
    equity_before: float,
    gross_equity_after: float,
    costs_paid: float,
    peak_before: float,
    state: SharpeState,
    weights: RewardWeights,
) -> RewardParts:
    """The reward of one step from equity before, equity after marking (before costs) and costs paid."""
    gross = step_return(equity_before, gross_equity_after)
    cost = cost_fraction(costs_paid, equity_before)
    net = gross - cost
    sharpe_term, new_state = differential_sharpe(net, state, weights.eta)
    if not math.isfinite(sharpe_term):
        sharpe_term = 0.0
    sharpe_term = max(-weights.sharpe_clip, min(weights.sharpe_clip, sharpe_term))
    equity_after = gross_equity_after - costs_paid
    dd_increase, peak_after = drawdown_increase(equity_before, equity_after, peak_before)
    reward = gross - weights.cost * cost + weights.sharpe * sharpe_term - weights.drawdown * dd_increase
    return RewardParts(
        reward=reward,
        gross_return=gross,
        cost=cost,
        sharpe_term=sharpe_term,
        drawdown_penalty=weights.drawdown * dd_increase,
        state=new_state,
        peak_equity=peak_after,
    )
