"""A single-symbol trading environment that fills like the PaperBroker.

The agent acts at the close of decision bar t, seeing the pipeline's features for that bar (technical,
returns, macro, fundamentals: whatever the spec holds, already scaled) plus its own position and P&L.
Its order fills at bar t+1's open at `execution.fees.market_fill_price` and pays `execution.fees.commission`;
the step ends at bar t+1's close, where equity is marked and the reward computed (`rewards.step_reward`).

Actions (Discrete(5)):
    HOLD  keep the position
    BUY   go long one unit (from flat or short); no change if already long
    SELL  go short one unit (from flat or long) when shorting is allowed, else sell out to flat
    ADD   one more unit in the current direction, up to max_units; nothing when flat
    EXIT  go flat
A unit is 1 / max_units of current equity, in whole shares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from papertrader.config.settings import CostSettings
from papertrader.core.arrays import FloatArray, IntArray
from papertrader.core.errors import DataError
from papertrader.domain.types import Side
from papertrader.execution.fees import commission, market_fill_price
from papertrader.models.rl.rewards import RewardWeights, SharpeState, step_reward

#: Extra observation entries after the features: position, unrealised P&L, equity change, drawdown.
ACCOUNT_FEATURES = ("position", "unrealized_pnl", "equity_change", "drawdown")
OBS_LIMIT = 50.0


class Action(IntEnum):
    """The agent's five choices, as the Discrete(5) action space numbers them."""

    HOLD = 0
    BUY = 1
    SELL = 2
    ADD = 3
    EXIT = 4


@dataclass(frozen=True)
class EnvConfig:
    """Account size, position sizing, episode shape and reward weights."""

    capital: float = 100_000.0
    max_units: int = 2
    allow_short: bool = False
    episode_length: int | None = 252
    costs: CostSettings = field(default_factory=CostSettings)
    reward: RewardWeights = field(default_factory=RewardWeights)
    ruin_fraction: float = 0.5  # an episode ends when equity falls below this share of the start

    def sleeve(self, capital: float) -> EnvConfig:
        """The same account rules for trading one symbol through a whole window: no episode cut, no ruin stop."""
        return replace(self, capital=capital, episode_length=None, ruin_fraction=0.0)


def next_units(action: int, units: int, max_units: int, allow_short: bool) -> int:
    """The position (in units) an action asks for, given the current one."""
    act = Action(action)
    if act is Action.BUY:
        return units if units > 0 else 1
    if act is Action.SELL:
        if units < 0:
            return units
        return -1 if allow_short else 0
    if act is Action.ADD:
        if units == 0:
            return 0
        step = 1 if units > 0 else -1
        return max(-max_units, min(max_units, units + step))
    if act is Action.EXIT:
        return 0
    return units


@dataclass
class Account:
    """Cash and shares of the one symbol traded in an episode."""

    cash: float
    shares: int = 0
    units: int = 0
    entry_price: float = math.nan
    peak: float = 0.0


def fill(account: Account, target_shares: int, reference: float, costs: CostSettings) -> float:
    """Trade to target_shares at market on the reference open; returns the costs paid (spread+slip+fee)."""
    qty = target_shares - account.shares
    if qty == 0:
        return 0.0
    side = Side.BUY if qty > 0 else Side.SELL
    exact = market_fill_price(reference, side, costs)
    price, fee = float(exact), float(commission(abs(qty), exact, costs))
    account.cash -= qty * price + fee
    if target_shares == 0:
        account.entry_price = math.nan
    elif account.shares == 0 or np.sign(target_shares) != np.sign(account.shares):
        account.entry_price = price
    account.shares = target_shares
    return abs(qty) * abs(price - reference) + fee


class TradingEnv(gym.Env[npt.NDArray[np.float32], np.int64]):
    """Trades one symbol of a (T, N, F) feature tensor over allowed decision rows."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        features: npt.NDArray[np.float32],
        opens: FloatArray,
        closes: FloatArray,
        rows: IntArray,
        config: EnvConfig | None = None,
        symbol: int | None = None,
        random_start: bool = True,
    ) -> None:
        super().__init__()
        if features.ndim != 3 or opens.shape != features.shape[:2] or closes.shape != opens.shape:
            raise DataError("env needs features (T, N, F) and opens/closes (T, N)")
        self.features = features
        self.opens = opens
        self.closes = closes
        self.config = config or EnvConfig()
        self.fixed_symbol = symbol
        self.random_start = random_start
        t_max = features.shape[0]
        rows = np.asarray(rows, dtype=np.int64)
        self.rows = rows[(rows >= 0) & (rows + 1 < t_max)]
        if self.rows.size < 2:
            raise DataError("env needs at least two decision rows")
        n_obs = features.shape[2] + len(ACCOUNT_FEATURES)
        self.observation_space = spaces.Box(-OBS_LIMIT, OBS_LIMIT, shape=(n_obs,), dtype=np.float32)
        self.action_space = spaces.Discrete(len(Action))
        self._symbol = 0
        self._i = 0
        self._stop = 0
        self._account = Account(self.config.capital)
        self._equity = self.config.capital
        self._sharpe = SharpeState()
        self._last_price = math.nan

    @property
    def symbol(self) -> int:
        """The symbol column traded in this episode."""
        return self._symbol

    @property
    def row(self) -> int:
        """The current decision row on the time axis."""
        return int(self.rows[self._i])

    @property
    def shares(self) -> int:
        """Shares held now (negative when short)."""
        return self._account.shares

    @property
    def equity(self) -> float:
        """Equity marked at the last close, costs paid."""
        return self._equity

    def _observation(self) -> npt.NDArray[np.float32]:
        t, n, acct, cfg = self.row, self._symbol, self._account, self.config
        feats = np.nan_to_num(self.features[t, n].astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        price = self._last_price
        unreal = 0.0
        if acct.shares and math.isfinite(acct.entry_price) and math.isfinite(price):
            unreal = acct.shares * (price - acct.entry_price) / max(self._equity, 1e-9)
        account = np.array(
            [
                acct.units / cfg.max_units,
                unreal,
                self._equity / cfg.capital - 1.0,
                1.0 - self._equity / acct.peak if acct.peak > 0 else 0.0,
            ]
        )
        obs = np.concatenate([feats, account])
        return np.asarray(np.clip(obs, -OBS_LIMIT, OBS_LIMIT), dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        """Pick a symbol and a start row (random unless fixed) and open a fresh account."""
        super().reset(seed=seed)
        n = self.features.shape[1]
        self._symbol = self.fixed_symbol if self.fixed_symbol is not None else int(self.np_random.integers(n))
        length = self.config.episode_length
        last_start = self.rows.size - 2
        if length is None or length >= self.rows.size - 1:
            start, length = 0, self.rows.size - 1
        else:
            start = int(self.np_random.integers(0, last_start - length + 2)) if self.random_start else 0
        self._i = start
        self._stop = min(start + length, self.rows.size - 1)
        self._account = Account(self.config.capital, peak=self.config.capital)
        self._equity = self.config.capital
        self._sharpe = SharpeState(0.0, self.config.reward.prior_volatility**2)
        self._last_price = float(self.closes[self.row, self._symbol])
        return self._observation(), {"symbol": self._symbol, "row": self.row}

    def step(self, action: np.int64 | int) -> tuple[npt.NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        """Fill at the next open, mark at the next close, and score the step."""
        cfg, acct, n = self.config, self._account, self._symbol
        t_next = int(self.rows[self._i]) + 1
        ref = float(self.opens[t_next, n])
        close = float(self.closes[t_next, n])
        equity_before = self._equity
        units = next_units(int(action), acct.units, cfg.max_units, cfg.allow_short)
        costs_paid = 0.0
        gross_cash = acct.cash
        if units != acct.units and math.isfinite(ref) and ref > 0:
            size = int(abs(units) / cfg.max_units * max(equity_before, 0.0) / ref)
            target = size if units > 0 else -size
            gross_cash = acct.cash - (target - acct.shares) * ref
            costs_paid = fill(acct, target, ref, cfg.costs)
            acct.units = units if target != 0 else 0
        if math.isfinite(ref) and ref > 0:
            self._last_price = ref
        if math.isfinite(close) and close > 0:
            self._last_price = close
        mark = acct.shares * self._last_price if acct.shares else 0.0
        gross_equity = gross_cash + mark
        self._equity = acct.cash + mark
        parts = step_reward(equity_before, gross_equity, costs_paid, acct.peak, self._sharpe, cfg.reward)
        self._sharpe = parts.state
        acct.peak = parts.peak_equity
        self._i += 1
        terminated = self._equity < cfg.ruin_fraction * cfg.capital
        truncated = self._i >= self._stop and not terminated
        info = {"equity": self._equity, "costs": costs_paid, "units": acct.units, "row": t_next}
        return self._observation(), float(parts.reward), bool(terminated), bool(truncated), info
