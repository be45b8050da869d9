"""What each family shows the quality gate: its validation predictions, the base rate and the realised moves.

Training calls these after the final fit, on the holdout fold's validation rows (the rows early stopping
and the temperature already used) and on its test rows, and stores the verdict over both windows
(models.gate.gate_windows) as `metrics["gate"]`:

* LSTM / GRU: the calibrated DOWN/FLAT/UP probabilities the member votes with (UP is column 2), the training
  windows' class frequencies as the base rate, P(up) - P(down) ranked against the realised forward return per
  time row (a cross-sectional IC).
* PPO: the agent trades each symbol over the validation rows as in training (greedy actions, its own book);
  P(up) is P(BUY) + P(ADD), the probability the board's AgentMember votes with, scored as a two-class
  forecast of an UP label (a move beyond the cost band) against the training rows' UP base rate.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from papertrader.core.arrays import FloatArray, IntArray
from papertrader.models.data import Market
from papertrader.models.gate import GateResult, evaluate_gate
from papertrader.models.rl.agent import PPOAgent
from papertrader.models.rl.env import Action, TradingEnv
from papertrader.models.sequence import FoldData, SequenceModel
from papertrader.models.trading import live_symbols

DOWN, UP = 0, 2  # class indices of features.labels.class_index


def sequence_gate(model: SequenceModel, data: FoldData, market: Market, window: str = "val") -> GateResult:
    """The gate of a fitted LSTM/GRU on its fold's validation (or test) windows, against the training class prior."""
    val = data.test if window == "test" and data.test is not None else data.val
    counts = data.train.class_counts(3).astype(np.float64)
    prior = counts / max(counts.sum(), 1.0)
    probs = model.predict(val)["probs"] if len(val) else np.zeros((0, 3))
    forward = market.forward[val.rows, val.symbols]
    score = probs[:, UP] - probs[:, DOWN]
    return evaluate_gate(probs, val.y, prior, UP, score=score, forward=forward, groups=val.rows)


def agent_votes(
    agent: PPOAgent, tensor: npt.NDArray[np.float32], market: Market, rows: IntArray
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """(row, symbol, P(up), P(down)) of every decision the agent makes trading each symbol over `rows`.

    Each live symbol is traded from a flat book with greedy actions, as `PPOAgent.evaluate` does, so the
    account part of each observation is the agent's own position, as on the board (its ShadowBook).
    """
    live = live_symbols(market.opens, rows)
    cfg = agent.spec.env
    sleeve = cfg.sleeve(cfg.capital)
    empty = np.zeros(0, dtype=np.int64)
    if len(live) == 0 or rows.size < 3:
        return empty, empty.copy(), np.zeros(0), np.zeros(0)
    envs = [
        TradingEnv(tensor, market.opens, market.closes, rows, sleeve, symbol=int(j), random_start=False) for j in live
    ]
    obs = np.stack([env.reset(seed=0)[0] for env in envs])
    out_rows: list[IntArray] = []
    out_up: list[FloatArray] = []
    out_down: list[FloatArray] = []
    for _ in range(envs[0].rows.size - 1):
        out_rows.append(np.array([env.row for env in envs], dtype=np.int64))
        actions, probs = agent.predict(obs)
        out_up.append(probs[:, Action.BUY] + probs[:, Action.ADD])
        out_down.append(probs[:, Action.SELL] + probs[:, Action.EXIT])
        obs = np.stack([env.step(int(a))[0] for env, a in zip(envs, actions, strict=True)])
    symbols = np.tile(np.asarray(live, dtype=np.int64), len(out_rows))
    return np.concatenate(out_rows), symbols, np.concatenate(out_up), np.concatenate(out_down)


def agent_gate(
    agent: PPOAgent, tensor: npt.NDArray[np.float32], market: Market, train_rows: IntArray, val_rows: IntArray
) -> GateResult:
    """The gate of a trained agent: its P(up) on the validation rows as a forecast of an UP label."""
    train_labels = market.labels[train_rows]
    known_train = train_labels[train_labels >= 0]
    base_up = float(np.mean(known_train == UP)) if known_train.size else 0.5
    rows, symbols, p_up, p_down = agent_votes(agent, tensor, market, val_rows)
    labels = market.labels[rows, symbols] if rows.size else np.zeros(0, dtype=np.int64)
    known = labels >= 0
    rows, symbols, p_up, p_down, labels = rows[known], symbols[known], p_up[known], p_down[known], labels[known]
    y = (labels == UP).astype(np.int64)
    probs = np.column_stack([1.0 - p_up, p_up])
    forward = market.forward[rows, symbols]
    prior = np.array([1.0 - base_up, base_up])
    return evaluate_gate(probs, y, prior, 1, score=p_up - p_down, forward=forward, groups=rows)
