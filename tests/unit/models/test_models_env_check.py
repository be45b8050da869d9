"""The trading environment passes both env checkers and fills exactly like the PaperBroker: next open, costs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from models_bars import market
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from papertrader.config.settings import CostSettings
from papertrader.domain.types import Side
from papertrader.execution.fees import commission, market_fill_price
from papertrader.models.rl.env import ACCOUNT_FEATURES, Action, EnvConfig, TradingEnv, next_units


def _env(**kwargs: object) -> tuple[TradingEnv, np.ndarray, np.ndarray]:
    m = market()
    rng = np.random.default_rng(0)
    features = rng.standard_normal((len(m), len(m.symbols), 6)).astype(np.float32)
    rows = np.arange(10, 400, dtype=np.int64)
    env = TradingEnv(features, m.opens, m.closes, rows, EnvConfig(episode_length=50), **kwargs)  # type: ignore[arg-type]
    return env, m.opens, m.closes


def test_env_passes_gymnasium_and_sb3_check_env() -> None:
    env, _, _ = _env()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gym_check_env(env)
        sb3_check_env(env)
    serious = [str(w.message) for w in caught if "render" not in str(w.message)]
    assert serious == []
    assert env.observation_space.shape == (6 + len(ACCOUNT_FEATURES),)


def test_order_at_close_fills_at_next_open_with_spread_slippage_and_commission() -> None:
    env, opens, closes = _env(symbol=0, random_start=False)
    env.reset(seed=1)
    row = env.row
    _, _, _, _, info = env.step(Action.BUY)
    ref = float(opens[row + 1, 0])
    costs = CostSettings()
    price = market_fill_price(ref, Side.BUY, costs)
    qty = int(0.5 * 100_000.0 / ref)  # one unit of two = half the equity, whole shares
    fee = commission(qty, price, costs)
    assert env.shares == qty
    expected_cash = 100_000.0 - qty * float(price) - float(fee)
    assert info["equity"] == pytest.approx(expected_cash + qty * float(closes[row + 1, 0]))
    assert info["costs"] == pytest.approx(qty * (float(price) - ref) + float(fee))
    assert info["row"] == row + 1


def test_holding_does_not_trade_and_exit_sells_everything_at_the_next_open() -> None:
    env, _, _ = _env(symbol=0, random_start=False)
    env.reset(seed=1)
    env.step(Action.BUY)
    _, _, _, _, info = env.step(Action.BUY)  # already long: no order
    assert info["costs"] == 0.0
    _, _, _, _, info = env.step(Action.EXIT)
    assert env.shares == 0
    assert info["costs"] > 0


@pytest.mark.parametrize(
    ("action", "units", "allow_short", "expected"),
    [
        (Action.HOLD, 1, False, 1),
        (Action.BUY, 0, False, 1),
        (Action.BUY, -2, True, 1),
        (Action.SELL, 1, False, 0),
        (Action.SELL, 1, True, -1),
        (Action.ADD, 1, False, 2),
        (Action.ADD, 2, False, 2),
        (Action.ADD, 0, False, 0),
        (Action.ADD, -1, True, -2),
        (Action.EXIT, -2, True, 0),
    ],
)
def test_actions_map_to_target_units(action: Action, units: int, allow_short: bool, expected: int) -> None:
    assert next_units(action, units, 2, allow_short) == expected


def test_episode_truncates_at_its_length_and_never_reads_past_the_window() -> None:
    env, _, _ = _env()
    env.reset(seed=3)
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        assert info["row"] <= 400
        steps += 1
        done = terminated or truncated
    assert steps <= 50
