"""Model throughput on real bars, each number beside an alternative measured in the same run.

* training samples/s of the production-size LSTM (2x128 over 40 bars) and GRU (2x64 over 24 bars):
  torch pinned to 1 thread vs torch's default thread count;
* PPO environment steps/s: raw TradingEnv steps vs steps inside PPO.learn (rollouts plus updates);
* batched inference latency p50/p99 for 200 symbols, all three models in one call: one batch vs a
  per-symbol loop, 1 thread vs torch's default, TorchScript traced+frozen, int8 dynamic quantisation and
  torch.compile vs eager float32 (with the largest probability difference each one causes).

Run: `.venv/bin/python benchmarks/models_throughput.py [--json FILE] [--quick]`. Reads ../shared/data.
Weights do not change the arithmetic, so the latency networks are untrained production-size ones; the PPO
policy is trained for a few hundred steps only to get real VecNormalize statistics.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import torch
from rich.console import Console
from rich.table import Table

from papertrader.config.settings import CostSettings
from papertrader.features.spec import PipelineSpec
from papertrader.models.data import LabelSpec, build_market, featurize
from papertrader.models.dataset import make_windows
from papertrader.models.gru import GRUConfig, GRUTrend
from papertrader.models.inference import BatchInference
from papertrader.models.lstm import LSTMClassifier, LSTMConfig
from papertrader.models.rl.agent import PPOAgent, PPOSpec
from papertrader.models.rl.env import EnvConfig, TradingEnv
from papertrader.models.tasks import DirectionTask, Task, TrendTask
from papertrader.models.trainer import pinned_threads

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "equity-us" / "1d"
SYMBOLS = ("SPY", "AAPL", "IBM", "BAC", "AIG")
N_SYMBOLS = 200


def load(symbols: tuple[str, ...]) -> pd.DataFrame:
    """Real daily bars, long format, UTC stamps."""
    frames = []
    for s in symbols:
        df = pd.read_csv(SHARED / f"{s}.csv.gz")
        ts = pd.to_datetime(df["timestamp"]).dt.tz_localize("America/New_York").dt.tz_convert("UTC")
        frames.append(df.drop(columns="timestamp").assign(ts=ts))
    return pd.concat(frames, ignore_index=True)


def train_rate(
    net: torch.nn.Module,
    task: Task,
    x: torch.Tensor,
    y: torch.Tensor,
    aux: torch.Tensor,
    batches: int,
    threads: int | None,
) -> float:
    """Samples per second of forward + backward + AdamW step on real windows."""
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    net.train()

    def run() -> float:
        start = time.perf_counter()
        for i in range(batches):
            sl = slice(i * 256, (i + 1) * 256)
            opt.zero_grad()
            task.loss(net, x[sl], y[sl], aux[sl], None).backward()  # type: ignore[no-untyped-call]
            opt.step()
        return batches * 256 / (time.perf_counter() - start)

    if threads is None:
        return run()
    with pinned_threads(threads):
        return run()


def latencies(variants: dict[str, Callable[[], Any]], repeats: int) -> dict[str, tuple[float, float]]:
    """(p50, p99) milliseconds per variant, measured round-robin so a busy machine hurts all of them alike."""
    for fn in variants.values():
        fn()
        fn()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - t0) * 1e3)
    return {name: (float(np.percentile(v, 50)), float(np.percentile(v, 99))) for name, v in samples.items()}


def latencies_raw(fn: Callable[[], Any], repeats: int) -> list[float]:
    """Milliseconds of each of `repeats` calls after one warm-up call."""
    fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


class Net:
    """A network with the registry's predict() contract (softmax probabilities), eager or traced."""

    def __init__(self, module: torch.nn.Module, task: Task) -> None:
        self.module, self.task = module.eval(), task

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            out = self.task.outputs(self.module, torch.from_numpy(x))
        return {k: v.numpy().astype(np.float64) for k, v in out.items()}


class Agent:
    """A PPO agent with the registry's predict() contract."""

    def __init__(self, agent: PPOAgent) -> None:
        self.agent = agent

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        action, probs = self.agent.predict(x)
        return {"probs": probs, "action": action.astype(np.float64)}


def main() -> None:
    """Measure, print the table, optionally write JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="fewer batches and repeats")
    args = parser.parse_args()
    if not SHARED.exists():
        sys.exit(f"shared data not found at {SHARED}")
    batches, repeats = (3, 10) if args.quick else (8, 40)
    default_threads = torch.get_num_threads()
    costs = CostSettings()
    bars = load(SYMBOLS)
    market = build_market(bars, "1d", LabelSpec("direction", horizon=5), costs)
    _, tensor = featurize(market, PipelineSpec(), (0, 3000))
    n_feat = tensor.shape[2]
    rows: list[dict[str, Any]] = []

    # ---- training throughput
    for name, net_fn, task, lookback in (
        ("LSTM 2x128, 40 bars", lambda: LSTMClassifier(LSTMConfig(n_feat, 40, 128, 2)), DirectionTask(), 40),
        ("GRU 2x64, 24 bars", lambda: GRUTrend(GRUConfig(n_feat, 24, 64, 2)), TrendTask(), 24),
    ):
        w = make_windows(tensor, market.labels, market.decision_ns, lookback, present=market.present)
        idx = np.arange(batches * 256)
        x = torch.from_numpy(w.batch(idx))
        y = torch.from_numpy(w.y[idx])
        aux = torch.from_numpy(np.nan_to_num(w.aux[idx], nan=0.0))
        torch.manual_seed(0)
        one = train_rate(net_fn(), task, x, y, aux, batches, 1)
        torch.manual_seed(0)
        default = train_rate(net_fn(), task, x, y, aux, batches, None)
        rows.append(
            {
                "what": f"train samples/s, {name}",
                "unit": "samples/s",
                "value": one,
                "label": "1 thread",
                "alternative": default,
                "alt_label": f"{default_threads} threads (default)",
            }
        )

    # ---- PPO environment
    env_rows = np.arange(300, 4000, dtype=np.int64)
    env = TradingEnv(tensor, market.opens, market.closes, env_rows, EnvConfig(costs=costs))
    env.reset(seed=0)
    steps = 3000 if args.quick else 20000
    start = time.perf_counter()
    for _ in range(steps):
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            env.reset()
    raw = steps / (time.perf_counter() - start)
    spec = PPOSpec(features=PipelineSpec(), env=EnvConfig(costs=costs), total_timesteps=1024 if args.quick else 4096)
    agent = PPOAgent(spec)
    fitted, _ = featurize(market, PipelineSpec(), (0, 3000))
    agent.fit(tensor, market.opens, market.closes, env_rows, fitted)
    learn = spec.total_timesteps / agent.seconds
    rows.append(
        {
            "what": "PPO env steps/s",
            "unit": "steps/s",
            "value": raw,
            "label": "raw env.step",
            "alternative": learn,
            "alt_label": "inside PPO.learn (4 envs, rollouts + updates)",
        }
    )

    # ---- batched inference for 200 symbols, three models
    rng = np.random.default_rng(0)
    pick = rng.integers(0, len(market), N_SYMBOLS)
    lstm_x = np.stack([tensor[max(t - 39, 0) : max(t - 39, 0) + 40, t % tensor.shape[1]] for t in pick]).astype(
        np.float32
    )
    gru_x = np.ascontiguousarray(lstm_x[:, -24:])
    obs = np.concatenate([lstm_x[:, -1], np.zeros((N_SYMBOLS, 4), np.float32)], axis=1)
    lstm = LSTMClassifier(LSTMConfig(n_feat, 40, 128, 2)).eval()
    gru = GRUTrend(GRUConfig(n_feat, 24, 64, 2)).eval()
    eager = BatchInference(Net(lstm, DirectionTask()), Net(gru, TrendTask()), Agent(agent), threads=1)
    default_threads_engine = BatchInference(eager.lstm, eager.gru, eager.rl, threads=None)
    with torch.no_grad():
        traced_lstm = torch.jit.freeze(torch.jit.trace(lstm, torch.from_numpy(lstm_x)))  # type: ignore[no-untyped-call]
        traced_gru = torch.jit.freeze(torch.jit.trace(gru, torch.from_numpy(gru_x)))  # type: ignore[no-untyped-call]
    traced = BatchInference(Net(traced_lstm, DirectionTask()), Net(traced_gru, TrendTask()), eager.rl, threads=1)
    variants: dict[str, BatchInference] = {"jit": traced}
    with warnings.catch_warnings():  # the eager quantisation API warns that it is deprecated; it still runs
        warnings.simplefilter("ignore")
        quantize = torch.ao.quantization.quantize_dynamic
        quantized = quantize(lstm, {torch.nn.LSTM, torch.nn.Linear}, dtype=torch.qint8)  # type: ignore[no-untyped-call]
        quantized_gru = quantize(gru, {torch.nn.GRU, torch.nn.Linear}, dtype=torch.qint8)  # type: ignore[no-untyped-call]
    variants["qint8"] = BatchInference(Net(quantized, DirectionTask()), Net(quantized_gru, TrendTask()), eager.rl, 1)
    try:
        compiled = BatchInference(
            Net(cast(torch.nn.Module, torch.compile(lstm)), DirectionTask()),
            Net(cast(torch.nn.Module, torch.compile(gru)), TrendTask()),
            eager.rl,
            threads=1,
        )
        t0 = time.perf_counter()
        compiled.decide(lstm_x, gru_x, obs)
        compile_seconds = time.perf_counter() - t0
        variants["compile"] = compiled
    except Exception as exc:  # inductor needs a working C++ toolchain; report instead of failing
        compile_seconds = float("nan")
        print(f"torch.compile unavailable: {type(exc).__name__}: {exc}")

    def call(engine: BatchInference) -> Callable[[], Any]:
        return lambda: engine.decide(lstm_x, gru_x, obs)

    timed = {"batched": call(eager), "default": call(default_threads_engine)}
    timed.update({name: call(engine) for name, engine in variants.items()})
    measured = latencies(timed, repeats)
    looped_samples = list(latencies_raw(lambda: eager.decide_per_symbol(lstm_x, gru_x, obs), max(3, repeats // 10)))
    looped = (float(np.percentile(looped_samples, 50)), float(np.percentile(looped_samples, 99)))
    batched = measured["batched"]
    reference = eager.decide(lstm_x, gru_x, obs).direction

    def gap(name: str) -> float:
        return float(np.abs(variants[name].decide(lstm_x, gru_x, obs).direction - reference).max())

    alternatives = [
        ("per-symbol loop", looped),
        (f"{default_threads} threads (default)", measured["default"]),
        (f"TorchScript traced+frozen (max |dp| {gap('jit'):.1e})", measured["jit"]),
        (f"int8 dynamic quantisation (max |dp| {gap('qint8'):.1e})", measured["qint8"]),
    ]
    if "compile" in variants:
        alternatives.append(
            (f"torch.compile (first call {compile_seconds:.0f}s, max |dp| {gap('compile'):.1e})", measured["compile"])
        )
    for alt_label, alt in alternatives:
        for q, name in ((0, "p50"), (1, "p99")):
            rows.append(
                {
                    "what": f"inference {name}, 200 symbols x 3 models",
                    "unit": "ms",
                    "value": batched[q],
                    "label": "batched, 1 thread, eager",
                    "alternative": alt[q],
                    "alt_label": alt_label,
                }
            )

    table = Table(
        title=f"model throughput (real daily bars, {n_feat} features; {default_threads} CPU threads available)"
    )
    for col in ("measure", "value", "as measured", "alternative", "alternative is"):
        table.add_column(col, justify="left" if col in ("measure", "as measured", "alternative is") else "right")
    for r in rows:
        table.add_row(
            r["what"],
            f"{r['value']:,.1f} {r['unit']}",
            r["label"],
            f"{r['alternative']:,.1f} {r['unit']}",
            r["alt_label"],
        )
    Console().print(table)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
