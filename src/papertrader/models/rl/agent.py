"""The PPO agent (Stable-Baselines3) with the same verbs as every model: fit, predict, save, load.

Observations are normalised by a VecNormalize wrapper whose running statistics are saved beside the
policy and frozen at load time, so live inference scales inputs exactly as training did.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from papertrader.config.settings import CostSettings
from papertrader.core.arrays import FloatArray, IntArray
from papertrader.core.errors import ConfigError
from papertrader.features.pipeline import FittedPipeline
from papertrader.features.spec import PipelineSpec
from papertrader.models.rl.env import EnvConfig, TradingEnv
from papertrader.models.rl.rewards import RewardWeights
from papertrader.models.trading import TradingRun, TradingScores, live_symbols, max_drawdown, sharpe_ratio
from papertrader.models.trainer import pinned_threads, seed_everything

POLICY_FILE = "policy.zip"
VECNORM_FILE = "vecnormalize.pkl"
CONFIG_FILE = "config.json"
PIPELINE_FILE = "pipeline.json"


@dataclass(frozen=True)
class PPOSpec:
    """PPO hyper-parameters, the environment and the features; small `total_timesteps` for CI."""

    interval: str = "1d"
    features: PipelineSpec = field(default_factory=PipelineSpec)
    env: EnvConfig = field(default_factory=EnvConfig)
    total_timesteps: int = 50_000
    n_envs: int = 4
    n_steps: int = 256
    batch_size: int = 128
    n_epochs: int = 4
    learning_rate: float = 3e-4
    gamma: float = 0.99
    ent_coef: float = 0.01
    net_arch: tuple[int, ...] = (64, 64)
    seed: int = 7
    threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        """Plain data for config.json."""
        env = self.env
        return {
            "interval": self.interval,
            "features": self.features.to_dict(),
            "env": {
                "capital": env.capital,
                "max_units": env.max_units,
                "allow_short": env.allow_short,
                "episode_length": env.episode_length,
                "costs": env.costs.model_dump(),
                "reward": asdict(env.reward),
                "ruin_fraction": env.ruin_fraction,
            },
            "total_timesteps": self.total_timesteps,
            "n_envs": self.n_envs,
            "n_steps": self.n_steps,
            "batch_size": self.batch_size,
            "n_epochs": self.n_epochs,
            "learning_rate": self.learning_rate,
            "gamma": self.gamma,
            "ent_coef": self.ent_coef,
            "net_arch": list(self.net_arch),
            "seed": self.seed,
            "threads": self.threads,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PPOSpec:
        """Rebuild from `to_dict`."""
        env = dict(data["env"])
        env_config = EnvConfig(
            capital=float(env["capital"]),
            max_units=int(env["max_units"]),
            allow_short=bool(env["allow_short"]),
            episode_length=env["episode_length"],
            costs=CostSettings(**env["costs"]),
            reward=RewardWeights(**env["reward"]),
            ruin_fraction=float(env["ruin_fraction"]),
        )
        rest = {k: v for k, v in data.items() if k not in ("features", "env", "net_arch")}
        return cls(
            features=PipelineSpec.from_dict(data["features"]),
            env=env_config,
            net_arch=tuple(int(u) for u in data["net_arch"]),
            **rest,
        )


class PPOAgent:
    """A PPO policy over TradingEnv observations, plus the frozen normalisation and feature pipeline."""

    family = "rl"

    def __init__(self, spec: PPOSpec) -> None:
        self.spec = spec
        self.model: Any = None
        self.vecnorm: Any = None
        self.pipeline: FittedPipeline | None = None
        self.seconds = 0.0

    def fit(
        self,
        tensor: npt.NDArray[np.float32],
        opens: FloatArray,
        closes: FloatArray,
        train_rows: IntArray,
        pipeline: FittedPipeline,
        progress: bool = False,
    ) -> PPOAgent:
        """Train on episodes drawn from the training rows only (`progress`: a bar with an ETA on the console)."""
        import time

        from stable_baselines3 import PPO
        from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

        from papertrader.models.rl.progress import RichProgress

        spec = self.spec
        self.pipeline = pipeline

        def build() -> TradingEnv:
            """A fresh environment over the training rows (one per vectorised slot)."""
            return TradingEnv(tensor, opens, closes, train_rows, spec.env)

        started = time.perf_counter()
        with pinned_threads(spec.threads):
            seed_everything(spec.seed)
            venv = DummyVecEnv([build for _ in range(spec.n_envs)])
            venv.seed(spec.seed)
            self.vecnorm = VecNormalize(venv, norm_obs=True, norm_reward=True, gamma=spec.gamma)
            self.model = PPO(
                "MlpPolicy",
                self.vecnorm,
                learning_rate=spec.learning_rate,
                n_steps=spec.n_steps,
                batch_size=spec.batch_size,
                n_epochs=spec.n_epochs,
                gamma=spec.gamma,
                ent_coef=spec.ent_coef,
                policy_kwargs={"net_arch": list(spec.net_arch)},
                seed=spec.seed,
                device="cpu",
                verbose=0,
            )
            callback = RichProgress(spec.total_timesteps) if progress else None
            self.model.learn(total_timesteps=spec.total_timesteps, progress_bar=False, callback=callback)
        self.vecnorm.training = False
        self.vecnorm.norm_reward = False
        self.seconds = time.perf_counter() - started
        return self

    def _require(self) -> tuple[Any, Any]:
        if self.model is None or self.vecnorm is None:
            raise ConfigError("the PPO agent is not trained; fit or load it first")
        return self.model, self.vecnorm

    def normalize(self, obs: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Scale raw observations with the frozen training statistics."""
        _, vecnorm = self._require()
        return np.asarray(vecnorm.normalize_obs(obs), dtype=np.float32)

    def predict(self, obs: npt.NDArray[np.float32]) -> tuple[IntArray, FloatArray]:
        """Greedy actions and action probabilities for a batch of raw observations (B, D)."""
        model, _ = self._require()
        x = torch.as_tensor(self.normalize(obs))
        policy = model.policy
        with torch.inference_mode():
            # the actor's path of policy.get_distribution, without building a Distribution object per call
            features = policy.extract_features(x, policy.pi_features_extractor)
            logits = policy.action_net(policy.mlp_extractor.forward_actor(features))
            probs = torch.softmax(logits, dim=-1).cpu().numpy().astype(np.float64)
        return np.asarray(np.argmax(probs, axis=1), dtype=np.int64), probs

    def evaluate(
        self,
        tensor: npt.NDArray[np.float32],
        opens: FloatArray,
        closes: FloatArray,
        rows: IntArray,
        periods_per_year: float,
    ) -> TradingRun:
        """Trade every symbol over `rows` in lockstep with the greedy policy; score the pooled equity."""
        live = live_symbols(opens, rows)
        cfg = self.spec.env
        sleeve = cfg.sleeve(cfg.capital / max(len(live), 1))
        envs = [TradingEnv(tensor, opens, closes, rows, sleeve, symbol=j, random_start=False) for j in live]
        obs = np.stack([env.reset(seed=0)[0] for env in envs]) if envs else np.zeros((0, 1), np.float32)
        steps = envs[0].rows.size - 1 if envs else 0
        equity = np.zeros(steps + 1)
        equity[0] = cfg.capital
        trades, fees = 0, 0.0
        exposure = np.zeros(steps)
        for k in range(steps):
            actions, _ = self.predict(obs)
            nxt = []
            for env, a in zip(envs, actions, strict=True):
                shares_before = env.shares
                o, _, _, _, info = env.step(int(a))
                nxt.append(o)
                if env.shares != shares_before:
                    trades += 1
                fees += float(info["costs"])
                exposure[k] += abs(info["units"]) / cfg.max_units / len(envs)
            obs = np.stack(nxt)
            equity[k + 1] = sum(env.equity for env in envs)
        rets = equity[1:] / equity[:-1] - 1.0
        scores = TradingScores(
            total_return=float(equity[-1] / equity[0] - 1.0),
            sharpe=sharpe_ratio(rets, periods_per_year),
            max_drawdown=max_drawdown(equity),
            trades=trades,
            fees=fees,
            exposure=float(exposure.mean()) if steps else 0.0,
        )
        return TradingRun(equity, scores)

    def save(self, directory: Path) -> None:
        """Write the policy, its normalisation statistics, the config and the fitted pipeline."""
        model, vecnorm = self._require()
        directory.mkdir(parents=True, exist_ok=True)
        model.save(directory / POLICY_FILE)
        vecnorm.save(str(directory / VECNORM_FILE))
        n_obs = int(model.observation_space.shape[0])
        (directory / CONFIG_FILE).write_text(json.dumps({"spec": self.spec.to_dict(), "n_obs": n_obs}, indent=2))
        if self.pipeline is not None:
            (directory / PIPELINE_FILE).write_text(json.dumps(self.pipeline.to_dict()))

    @classmethod
    def load(cls, directory: Path) -> PPOAgent:
        """Read an agent written by `save`, with its normalisation frozen."""
        import pickle

        from stable_baselines3 import PPO

        config = json.loads((directory / CONFIG_FILE).read_text())
        agent = cls(PPOSpec.from_dict(config["spec"]))
        agent.model = PPO.load(directory / POLICY_FILE, device="cpu")
        with open(directory / VECNORM_FILE, "rb") as fh:
            vecnorm = pickle.load(fh)
        vecnorm.training = False
        vecnorm.norm_reward = False
        agent.vecnorm = vecnorm
        pipe = directory / PIPELINE_FILE
        if pipe.exists():
            agent.pipeline = FittedPipeline.from_dict(json.loads(pipe.read_text()))
        return agent
