"""The live path: LSTM, GRU and PPO decide for the whole universe in one batched call.

Measured with benchmarks/models_throughput.py on the project's 2-core CPU (AVX2, no AVX-512/AMX), 200
symbols, production-size networks: one batched pass per model took ~78 ms p50 against ~435 ms for a
per-symbol loop. TorchScript trace+freeze, torch.compile and int8 dynamic quantisation were all within
noise of eager float32 (quantisation also moves probabilities by up to 0.015), and bf16 autocast is not
supported for LSTMs on this CPU, so the path stays eager float32 under torch.inference_mode. Threads
decide the rest: on idle cores torch's default (2) ran ~44 ms, but with one core busy elsewhere it
degraded to ~276 ms p50 and 2.6 s p99 while one pinned thread held ~80 ms. `threads=1` is therefore the
default (predictable p99 beside the engine, API and other jobs); pass `threads=None` on a dedicated box.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from papertrader.core.arrays import FloatArray


class BatchPredictor(Protocol):
    """Anything with a batched predict (a loaded version, a ModelHandle with fallback, a baseline)."""

    def predict(self, x: npt.NDArray[np.float32]) -> dict[str, FloatArray]:
        """Outputs for a batch of inputs."""
        ...


@dataclass(frozen=True)
class Decisions:
    """Per-symbol outputs of the three models for one cycle."""

    direction: FloatArray  # (N, 3) LSTM P(DOWN), P(FLAT), P(UP)
    trend: FloatArray  # (N, 3) GRU trend class probabilities
    reversal: FloatArray  # (N,) GRU reversal probability
    action: npt.NDArray[np.int64]  # (N,) PPO greedy action
    action_probs: FloatArray  # (N, 5) PPO action probabilities


class BatchInference:
    """Runs the three families on (N, ...) inputs with pinned threads and no autograd."""

    def __init__(self, lstm: BatchPredictor, gru: BatchPredictor, rl: BatchPredictor, threads: int | None = 1) -> None:
        self.lstm = lstm
        self.gru = gru
        self.rl = rl
        self.threads = threads

    def _run(
        self, lstm_x: npt.NDArray[np.float32], gru_x: npt.NDArray[np.float32], rl_obs: npt.NDArray[np.float32]
    ) -> Decisions:
        import torch  # loaded with the first batch, so importing the BatchPredictor protocol stays light

        with torch.inference_mode():
            d = self.lstm.predict(lstm_x)
            g = self.gru.predict(gru_x)
            r = self.rl.predict(rl_obs)
        n = lstm_x.shape[0]
        return Decisions(
            direction=d["probs"],
            trend=g["probs"],
            reversal=g.get("reversal", np.full(n, np.nan)),
            action=np.asarray(r["action"], dtype=np.int64),
            action_probs=r["probs"],
        )

    def decide(
        self, lstm_x: npt.NDArray[np.float32], gru_x: npt.NDArray[np.float32], rl_obs: npt.NDArray[np.float32]
    ) -> Decisions:
        """One batched pass per model: (N, L1, F1), (N, L2, F2) and (N, D) inputs -> per-symbol outputs."""
        if not lstm_x.shape[0] == gru_x.shape[0] == rl_obs.shape[0]:
            raise ValueError("every model needs one input row per symbol")
        if self.threads is None:
            return self._run(lstm_x, gru_x, rl_obs)
        from papertrader.models.trainer import pinned_threads

        with pinned_threads(self.threads):
            return self._run(lstm_x, gru_x, rl_obs)

    def decide_per_symbol(
        self, lstm_x: npt.NDArray[np.float32], gru_x: npt.NDArray[np.float32], rl_obs: npt.NDArray[np.float32]
    ) -> Decisions:
        """The same answer one symbol at a time: the slow reference the benchmark compares against."""
        parts = [self.decide(lstm_x[i : i + 1], gru_x[i : i + 1], rl_obs[i : i + 1]) for i in range(lstm_x.shape[0])]
        return Decisions(
            direction=np.concatenate([p.direction for p in parts]),
            trend=np.concatenate([p.trend for p in parts]),
            reversal=np.concatenate([p.reversal for p in parts]),
            action=np.concatenate([p.action for p in parts]),
            action_probs=np.concatenate([p.action_probs for p in parts]),
        )
