"""Decision latency of a full live cycle for 200 symbols: models, risk, broker and a SQLite commit per cycle.

One cycle is Engine.step: the broker works the orders against the new bar, the ledger books fills, a
strategy runs all three model families in one batched call (production-size LSTM 2x128 over 40 bars and
GRU 2x64 over 24 bars through models/inference.py BatchInference, and a PPO policy trained for a few
thousand steps on the training window so its normalisation is real), risk sizes and vetoes, orders are
submitted, and the recorder commits the cycle to SQLite (WAL) before the next one starts, as in paper mode.
The LSTM and GRU weights are untrained: latency depends on shapes, not on values (the project's trained
models need `papertrader train`, which takes far longer than this benchmark may).

Inputs: 200 symbols x 320 daily bars cut from bench_data's chained real path; features are the TA-Lib
relative technical set, standardised with statistics of the first 120 rows only (the training window);
the PPO agent trains on rows 60-120; cycles 120.. are run and all but the first 3 (warm-up) are timed.
Alternatives in the same run: the same cycle without the database, and with a per-symbol inference loop
instead of one batch (fewer cycles: it is slow).

Run: `.venv/bin/python benchmarks/decision_latency.py --stand-ins [--cycles N]` for the stand-ins. Reads
../shared/data.

The default (no `--stand-ins`) measures the **calibrated production board** on the **live path**: `papertrader
data import --source bundled` and `papertrader train all` (the CLI itself, in a temporary PAPERTRADER_HOME or
`--home`; production sizes, price families only, bars before 2008; `--small` trains the CI-sized models
instead) register real LSTM, GRU, PPO and LightGBM versions; the kernel assembles a live run of
`strategy.name = "ensemble"` (`--members` for another board) over `--symbols` symbols of the chained real path
(written to that lake), calibrated on the `board.calibration_bars` rows before its first cycle, with the run's
recorder (the commit on its writer thread) and every risk rule. Each timed bar is what the orchestrator does
at a close: `Panel.append`, `LiveFeatures.extend`, `Engine.extend`, `Engine.step`; the board's `prepare`
(recurrent prefix states) runs between bars and is reported apart. Writes
`benchmarks/results/decision_latency.json` (`--out`) with `p50_ms, p99_ms, symbols, members`, the CPU time,
every stage (each member, construction and its solve, risk, broker, recorder hand-off, GC pauses), the orders
and fills, `decisions_sha256` (every bar's target weights after construction and every order, to the last bit:
two runs, say before and after a speed-up, decided alike exactly when it matches), `gc` (the objects a full
collection walks after setup and what one costs before and after `gc.freeze`, which the live loop applies after
its start; the bars then run frozen, as live) and `construction_when_holding_longs` (the mean-variance solve
timed on a 20-name long book, which a flat board never reaches). `--calibration none` makes the board trade on
these drift-free bars; `--construction none` sizes per symbol instead of the optimiser; `--profile FILE` writes a
cProfile of the timed bars. `--solve-only` times the construction alone at `--symbols` names over `--cycles`
bars, beside the PyPortfolioOpt solve it replaced, on the same bars (`benchmarks/results/construction_solve.json`).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import bench_data
import numpy as np
import pandas as pd
import torch
from engine_vs_libraries import crossover_settings
from models_throughput import Agent, Net
from rich.console import Console
from rich.progress import track
from rich.table import Table

from papertrader.config.settings import CostSettings
from papertrader.core.clock import SimClock
from papertrader.core.events import EventBus
from papertrader.engine.cycle import Engine
from papertrader.engine.panel import Panel
from papertrader.engine.recorder import BatchRecorder
from papertrader.features.spec import PipelineSpec
from papertrader.features.technical import TechnicalSpec, compute_technical
from papertrader.features.view import FeatureView
from papertrader.models.gru import GRUConfig, GRUTrend
from papertrader.models.inference import BatchInference
from papertrader.models.lstm import LSTMClassifier, LSTMConfig
from papertrader.models.rl.agent import PPOAgent, PPOSpec
from papertrader.models.rl.env import EnvConfig
from papertrader.models.tasks import DirectionTask, TrendTask
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import RunInfo, RunRepository
from papertrader.signals.base import Decision

RESULTS = Path(__file__).parent / "results"
N_SYMBOLS, TRAIN_END, WARM = 200, 120, 60


class BoardStrategy:
    """All three families vote per symbol: mean of LSTM edge, GRU trend edge and PPO's long-minus-flat mass."""

    name = "bench_board"

    def __init__(self, names: list[str], inference: BatchInference, per_symbol: bool = False) -> None:
        self.names, self.inference, self.per_symbol = names, inference, per_symbol

    def required_features(self) -> tuple[str, ...]:
        """Every standardised technical panel."""
        return tuple(self.names)

    def decide(self, ts: datetime, view: FeatureView) -> Decision:
        """One batched pass of the three models over the last 40 rows of every feature."""
        win = np.stack([view.window(n, 40) for n in self.names], axis=-1)  # (40, N, F)
        lstm_x = np.ascontiguousarray(np.nan_to_num(win.transpose(1, 0, 2)), dtype=np.float32)
        gru_x = np.ascontiguousarray(lstm_x[:, -24:])
        obs = np.concatenate([lstm_x[:, -1], np.zeros((lstm_x.shape[0], 4), np.float32)], axis=1)
        run = self.inference.decide_per_symbol if self.per_symbol else self.inference.decide
        d = run(lstm_x, gru_x, obs)
        votes = np.stack(
            [
                d.direction[:, 2] - d.direction[:, 0],
                d.trend[:, 2] - d.trend[:, 0],
                d.action_probs[:, -1] - d.action_probs[:, 0],
            ]
        )
        edge = votes.mean(axis=0)
        n = lstm_x.shape[0]
        weights = np.clip(edge, 0.0, 1.0) / n
        return Decision(weights, np.clip(np.abs(edge), 0.0, 1.0), lambda i: f"board edge {edge[i]:+.3f}")


def _features(panel: Panel) -> dict[str, np.ndarray]:
    """Relative technical panels standardised with the training window's statistics only."""
    raw = compute_technical(panel.prices, TechnicalSpec(relative=True))
    out = {}
    for name, values in raw.items():
        train = values[:TRAIN_END]
        if not np.isfinite(train).any():
            continue  # still warming up at the end of the training window (e.g. a 200-bar SMA): no statistics
        mu, sd = np.nanmean(train), np.nanstd(train)
        out[f"z:{name}"] = (values - mu) / (sd if sd > 0 else 1.0)
    return out


def _agent(features: dict[str, np.ndarray], panel: Panel, timesteps: int) -> PPOAgent:
    tensor = np.nan_to_num(np.stack([features[n] for n in features], axis=-1)).astype(np.float32)
    closes = np.nan_to_num(panel.prices.close, nan=100.0)
    opens = np.nan_to_num(panel.prices.open, nan=100.0)
    spec = PPOSpec(features=PipelineSpec(), env=EnvConfig(costs=CostSettings()), total_timesteps=timesteps)
    agent = PPOAgent(spec)
    agent.fit(tensor, opens, closes, np.arange(WARM, TRAIN_END, dtype=np.int64), None)  # type: ignore[arg-type]
    return agent


def _latencies(engine: Engine, cycles: range, label: str, untimed: int = 3) -> list[float]:
    """Milliseconds per Engine.step; the first `untimed` cycles warm caches and the database and are not kept."""
    out = []
    for j, k in enumerate(track(cycles, description=label, transient=True)):
        start = time.perf_counter()
        engine.step(k)
        if j >= untimed:
            out.append((time.perf_counter() - start) * 1e3)
    return out


def _stats(ms: list[float]) -> dict[str, float]:
    a = np.array(ms)
    return {
        "cycles": len(ms),
        "p50_ms": float(np.percentile(a, 50)),
        "p99_ms": float(np.percentile(a, 99)),
        "mean_ms": float(a.mean()),
        "max_ms": float(a.max()),
    }


def measure(cycles: int, slow_cycles: int, ppo_steps: int) -> dict[str, Any]:
    """p50/p99 of the full cycle with SQLite, without it, and with per-symbol inference."""
    bars = bench_data.universe_bars(N_SYMBOLS, TRAIN_END + cycles)
    panel = Panel.from_long(bars, "1d")
    features = _features(panel)
    names = list(features)
    torch.manual_seed(0)
    lstm = LSTMClassifier(LSTMConfig(len(names), 40, 128, 2))
    gru = GRUTrend(GRUConfig(len(names), 24, 64, 2))
    agent = _agent(features, panel, ppo_steps)
    inference = BatchInference(Net(lstm, DirectionTask()), Net(gru, TrendTask()), Agent(agent), threads=1)
    settings = crossover_settings()
    settings = settings.model_copy(update={"risk": settings.risk.model_copy(update={"max_position_fraction": 0.05})})

    def engine(per_symbol: bool, recorder: BatchRecorder | None) -> Engine:
        return Engine(
            run_id="latency",
            panel=panel,
            features=features,
            strategy=BoardStrategy(names, inference, per_symbol),
            settings=settings,
            clock=SimClock(panel.open_times[0]),
            bus=EventBus(),
            recorder=recorder,
        )

    result: dict[str, Any] = {"symbols": N_SYMBOLS, "features": len(names), "input": bench_data.HOW}
    with tempfile.TemporaryDirectory() as tmp:
        db = make_engine(f"sqlite:///{tmp}/bench.db")
        init_db(db)
        repo = RunRepository(db)
        repo.create_run(
            RunInfo(
                id="latency",
                mode="replay",
                interval="1d",
                symbols=panel.symbols,
                start=panel.ts[TRAIN_END].to_pydatetime(),
                end=panel.ts[-1].to_pydatetime(),
                initial_cash=Decimal(repr(settings.initial_cash)),
                config={},
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
        recorder = BatchRecorder(repo, "latency", every=1)
        ms = _latencies(engine(False, recorder), range(TRAIN_END, TRAIN_END + cycles), "cycles with SQLite")
        result["full_cycle_sqlite"] = _stats(ms)
        db.dispose()
    result["full_cycle_no_db"] = _stats(
        _latencies(engine(False, None), range(TRAIN_END, TRAIN_END + cycles), "cycles without a database")
    )
    result["per_symbol_inference_sqlite_free"] = _stats(
        _latencies(engine(True, None), range(TRAIN_END, TRAIN_END + slow_cycles), "per-symbol inference", 1)
    )
    return result


def _cli(home: Path, *args: str) -> None:
    """Run the papertrader CLI in `home` (the same code a user runs), failing loudly."""
    env = {**os.environ, "PAPERTRADER_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "papertrader.cli", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"papertrader {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def _after_training(bars: pd.DataFrame) -> pd.DataFrame:
    """The same bars re-stamped on XNYS sessions from 2009 on, after the models' training data (out of sample)."""
    import exchange_calendars as xcals

    stamps = sorted(bars["ts"].unique())
    sessions = xcals.get_calendar("XNYS", start="2009-01-02").sessions[: len(stamps)]
    days = pd.DatetimeIndex(sessions).tz_localize("America/New_York").tz_convert("UTC")
    return bars.assign(ts=bars["ts"].map(dict(zip(stamps, days, strict=True))))


class _Stages:
    """Wall and CPU milliseconds per named stage of the current bar (wrapped callables add to them)."""

    def __init__(self) -> None:
        self.now: dict[str, float] = {}
        self.rows: list[dict[str, float]] = []

    def wrap(self, name: str, fn: Any) -> Any:
        """`fn`, adding its wall milliseconds to stage `name` of the current bar."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.now[name] = self.now.get(name, 0.0) + (time.perf_counter() - started) * 1e3

        return timed

    def close_bar(self, keep: bool) -> None:
        """End the bar: keep its stages (after the warm-up) and start the next one empty."""
        if keep:
            self.rows.append(self.now)
        self.now = {}

    def summary(self) -> dict[str, dict[str, float]]:
        """p50 / p99 / mean milliseconds of every stage over the kept bars."""
        names = sorted({k for row in self.rows for k in row})
        out = {}
        for name in names:
            a = np.array([row.get(name, 0.0) for row in self.rows])
            out[name] = {
                "bars": int(sum(name in row for row in self.rows)),  # bars on which the stage ran at all
                "p50_ms": float(np.percentile(a, 50)),
                "p99_ms": float(np.percentile(a, 99)),
                "mean_ms": float(a.mean()),
            }
        return out


def _instrument(assembly: Any, stages: _Stages) -> None:
    """Time the decision's parts inside Engine.step: the board (each member), construction, risk, the recorder."""
    engine = assembly.engine
    strategy = engine.strategy
    for member in getattr(strategy, "members", ()):
        member.opine = stages.wrap(f"member:{member.name}", member.opine)
    strategy.decide = stages.wrap("step:decide (board)", strategy.decide)
    engine._construct = stages.wrap("step:construction", engine._construct)
    from papertrader.risk import construction

    if not hasattr(construction, "_bench_unwrapped"):
        construction._bench_unwrapped = construction.timed_solve  # type: ignore[attr-defined]
    solve = construction._bench_unwrapped  # type: ignore[attr-defined]
    construction.timed_solve = stages.wrap("step:construction solve (clarabel)", solve)
    engine.risk.plan = stages.wrap("step:risk plan", engine.risk.plan)
    engine.broker.on_bars = stages.wrap("step:broker fills", engine.broker.on_bars)
    if assembly.recorder is not None:
        assembly.recorder.record = stages.wrap("step:recorder hand-off", assembly.recorder.record)
        assembly.recorder.settle = stages.wrap("step:recorder settle", assembly.recorder.settle)


def _fingerprint(weights: list[bytes], submitted: list[Any], filled: list[Any]) -> str:
    """SHA-256 of every bar's target weights after construction (their bytes) and of every order event's fields
    (target weights to the last bit): two runs that decided alike have the same one (the run id left out)."""
    import dataclasses
    import hashlib

    digest = hashlib.sha256()
    for row in weights:
        digest.update(row)
    lines = [
        " ".join(f"{f.name}={getattr(e, f.name)!r}" for f in dataclasses.fields(e) if f.name != "order_id")
        for e in [*submitted, *filled]
    ]
    digest.update("\n".join(lines).encode())
    return digest.hexdigest()


def _construction_with_longs(engine: Any, bars: range, longs: int = 20) -> dict[str, Any]:
    """Milliseconds of the mean-variance construction on bars where the board holds `longs` symbols.

    The board measured above may hold nothing on these bars (then construction has nothing to solve); this
    times `risk.construction.construct` as `Engine._construct` calls it, with the same closes, settings and
    sectors, for a long book of the `longs` symbols with the best 20-bar return at each bar (p_win 0.55, payoff
    1, confidence 0.5: a modest calibrated edge), so the solve itself is on the clock.
    """
    from papertrader.risk.construction import construct, expected_returns

    s = engine.settings.risk
    close = engine.panel.prices.close
    ms: list[float] = []
    cpu: list[float] = []
    held: list[int] = []
    for k in bars:
        momentum = np.nan_to_num(close[k] / close[k - 20] - 1.0, nan=-np.inf)
        book = np.zeros(close.shape[1])
        book[np.argsort(momentum)[-longs:]] = 1.0
        n = close.shape[1]
        mu = expected_returns(np.full(n, 0.55), np.ones(n), np.full(n, 0.5), engine._volatility[k]) * book
        started, cpu_started = time.perf_counter(), time.process_time()
        built = construct(
            engine.panel.symbols,
            mu,
            close[max(0, k - s.construction_window) : k + 1],
            close[k],
            s,
            engine.risk.settings.sectors,
            engine.risk.periods_per_year,
        )
        ms.append((time.perf_counter() - started) * 1e3)
        cpu.append((time.process_time() - cpu_started) * 1e3)
        held.append(int(np.count_nonzero(built.weights)) if built.weights is not None else -1)
    cpu_stats = {f"cpu_{k}": v for k, v in _stats(cpu).items() if k != "cycles"}
    return {**_stats(ms), **cpu_stats, "longs_asked": longs, "positions_solved_p50": float(np.median(held))}


def _pyportfolioopt_construct(
    symbols: list[str], mu: np.ndarray, closes: np.ndarray, prices: np.ndarray, s: Any, sectors: dict[str, str]
) -> np.ndarray:
    """The construction as it was solved before: PyPortfolioOpt's efficient_risk through cvxpy (the reference)."""
    from pypfopt import EfficientFrontier, risk_models

    from papertrader.risk.buckets import Bucket, classify
    from papertrader.risk.construction import CASH

    frame = pd.DataFrame(pd.DataFrame(closes).ffill().to_numpy(), columns=symbols)
    cov = risk_models.CovarianceShrinkage(frame, frequency=252.0).ledoit_wolf()
    cov[CASH] = 0.0
    cov.loc[CASH] = 0.0
    cov.loc[CASH, CASH] = 1e-8
    returns = pd.Series(np.append(mu, 0.0), index=[*symbols, CASH])
    gross_cap = min(s.max_gross_exposure, 1.0 - s.cash_reserve)
    bounds = [(0.0, s.max_position_fraction)] * len(symbols) + [(1.0 - gross_cap, 1.0)]
    ef = EfficientFrontier(returns, cov, weight_bounds=bounds, solver="CLARABEL")
    buckets = classify(symbols, prices, set(s.etfs), s.penny_below)
    for bucket, cap in {Bucket.CORE: s.core_cap, Bucket.ETF: s.etf_cap, Bucket.SPECULATIVE: s.speculative_cap}.items():
        members = [i for i, b in enumerate(buckets) if b == bucket]
        if members:
            ef.add_constraint(lambda w, m=members, c=cap: w[m].sum() <= c)
    mapper = {name: sectors.get(name, f"__alone__{name}") for name in symbols} | {CASH: CASH}
    upper = {sector: s.max_sector_fraction for sector in set(mapper.values()) if not sector.startswith("__")}
    if upper:
        ef.add_sector_constraints(mapper, {}, upper)
    ef.efficient_risk(target_volatility=s.vol_target)
    solved = ef.clean_weights(cutoff=1e-4)
    return np.array([float(solved[name]) for name in symbols])


def measure_solve(symbols: int, bars: int, longs: int = 20) -> dict[str, Any]:
    """The construction alone at `symbols` names, screened Clarabel beside PyPortfolioOpt's solve, bar by bar.

    Each bar: the `longs` names with the best 20-bar return get p_win 0.55, payoff 1, confidence 0.5 (as in
    `_construction_with_longs`), the window is the last 121 closes, default risk settings. Both solves run on
    the same bar back to back (the order alternating), so the machine's load is shared; the first 3 bars warm up.
    """
    from papertrader.config.settings import RiskSettings
    from papertrader.risk.construction import construct, expected_returns, one_blas_thread
    from papertrader.risk.sizing import trailing_volatility

    s = RiskSettings()
    window = 121
    data = bench_data.universe_bars(symbols, window + 21 + bars)
    wide = data.pivot(index="ts", columns="symbol", values="close")
    names = [str(c) for c in wide.columns]
    close = wide.to_numpy()
    volatility = trailing_volatility(close, s.vol_window, 252.0)
    times: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in ("screened", "pyportfolioopt")}
    diffs: list[float] = []
    held: list[int] = []
    for j, k in enumerate(range(window + 20, window + 20 + bars)):
        momentum = np.nan_to_num(close[k] / close[k - 20] - 1.0, nan=-np.inf)
        book = np.zeros(symbols)
        book[np.argsort(momentum)[-longs:]] = 1.0
        mu = expected_returns(np.full(symbols, 0.55), np.ones(symbols), np.full(symbols, 0.5), volatility[k]) * book
        closes = close[k - window + 1 : k + 1]
        out: dict[str, np.ndarray] = {}

        def screened(mu: np.ndarray = mu, closes: np.ndarray = closes, k: int = k) -> np.ndarray:
            built = construct(names, mu, closes, close[k], s, {}, 252.0)
            assert built.weights is not None, built.reason
            return built.weights

        def reference(mu: np.ndarray = mu, closes: np.ndarray = closes, k: int = k) -> np.ndarray:
            with one_blas_thread():
                return _pyportfolioopt_construct(names, mu, closes, close[k], s, {})

        order = [("screened", screened), ("pyportfolioopt", reference)]
        for name, solve in order if j % 2 == 0 else order[::-1]:
            started, cpu_started = time.perf_counter(), time.process_time()
            out[name] = solve()
            if j >= 3:
                times[name]["wall"].append((time.perf_counter() - started) * 1e3)
                times[name]["cpu"].append((time.process_time() - cpu_started) * 1e3)
        diffs.append(float(np.abs(out["screened"] - out["pyportfolioopt"]).max()))
        held.append(int(np.count_nonzero(out["screened"])))
    result: dict[str, Any] = {"symbols": symbols, "bars": bars, "longs_asked": longs, "input": bench_data.HOW}
    for name, t in times.items():
        wall, cpu = _stats(t["wall"]), _stats(t["cpu"])
        result[name] = {**wall, **{f"cpu_{k}": v for k, v in cpu.items() if k != "cycles"}}
    result["max_abs_weight_difference"] = max(diffs)
    result["bars_differing_past_1e-4"] = sum(d > 1e-4 for d in diffs)
    result["positions_p50"] = float(np.median(held))
    result["load_average"] = os.getloadavg()
    return result


def measure_board(
    cycles: int,
    history: int,
    symbols: int,
    keep: Path | None = None,
    small: bool = False,
    members: tuple[str, ...] | None = None,
    profile: Path | None = None,
    calibration: str | None = None,
    construction: str | None = None,
) -> dict[str, Any]:
    """p50/p99 of the live decision path for the trained, calibrated board over `symbols` symbols.

    The live path as `engine/orchestrator.py` walks it at a bar close: the new row appended to the panel,
    the features streamed for it (`LiveFeatures.extend`), `Engine.extend`, then `Engine.step` (fills, marks,
    the board's decision, construction, risk, orders, the commit handed to the writer thread). Between bars
    (untimed in the decision, reported apart) the board's `prepare` computes the recurrent prefix states.
    """
    from papertrader.config.board import BoardSettings
    from papertrader.config.settings import Settings, StrategySettings
    from papertrader.data.store import Lake
    from papertrader.engine.kernel import RunSpec, assemble
    from papertrader.engine.live_features import LiveFeatures
    from papertrader.persistence.repository import RunRepository as Repo

    with tempfile.TemporaryDirectory() as tmp:
        home = keep or Path(tmp)
        started = time.perf_counter()
        reused = (home / "models").exists()
        if not reused:  # `--home` with trained models: reuse them
            _cli(home, "data", "import", "--source", "bundled")
            size = ("--small",) if small else ()
            _cli(home, "train", "all", *size, "--until", "2008-01-01", "--skip", "macro,fundamentals,news")
        trained_s = time.perf_counter() - started
        bars = _after_training(bench_data.universe_bars(symbols, history + cycles))
        Lake(home / "lake").write_bars(bars, "1d", "bench")
        board = BoardSettings(members=members) if members else BoardSettings()
        if calibration is not None:
            board = board.model_copy(update={"calibration": calibration})
        settings = Settings(home=home, strategy=StrategySettings(name="ensemble"), board=board)
        if construction is not None:
            settings = settings.model_copy(
                update={"risk": settings.risk.model_copy(update={"construction": construction})}
            )
        whole = Panel.from_long(bars, "1d")
        stamps = pd.DatetimeIndex(bars["ts"])
        panel = Panel.from_long(bars[stamps < whole.ts[history]], "1d", whole.symbols)
        db = make_engine(settings.db_url)
        init_db(db)
        first = history
        start = whole.ts[first].to_pydatetime()  # the run row's window: the bars still to come
        spec = RunSpec(f"latency-{time.time_ns()}", "live", first=first, start=start, end=whole.ts[-1].to_pydatetime())
        assembly = assemble(settings, spec, panel, lake=Lake(settings.lake_dir), repo=Repo(db))
        engine, built = assembly.engine, assembly.built
        assert built.builder is not None
        live = LiveFeatures(built.builder, engine.panel, engine.features)
        polled = getattr(built.strategy, "members", ())
        member_names = sorted(m.name for m in polled) or sorted(built.manifests)
        stages = _Stages()
        _instrument(assembly, stages)
        weights: list[bytes] = []
        construct_timed = engine._construct

        def kept(k: int, decision: Any) -> Any:
            out = construct_timed(k, decision)
            weights.append(np.asarray(out.weights, dtype=np.float64).tobytes())
            return out

        engine._construct = kept
        submitted: list[Any] = []
        filled: list[Any] = []
        engine.bus.subscribe(submitted.append, "order.submitted")
        engine.bus.subscribe(filled.append, "order.filled")
        prepare = getattr(engine.strategy, "prepare", None)
        decision_ms: list[float] = []
        decision_cpu_ms: list[float] = []
        prepare_ms: list[float] = []
        if prepare is not None:
            prepare(FeatureView(engine.features, first - 1))
        gc_started: list[float] = []
        timing: list[bool] = []  # non-empty while a bar's decision is on the clock

        def gc_pause(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                gc_started.append(time.perf_counter())
            elif gc_started:
                ms = (time.perf_counter() - gc_started.pop()) * 1e3
                if not timing:
                    return
                key = f"gc pauses (generation {info.get('generation')})"
                stages.now[key] = stages.now.get(key, 0.0) + ms

        tracked = len(gc.get_objects())  # what a full collection walks (generation 2 is the whole heap)
        collected = time.perf_counter()
        gc.collect()
        full_collection_ms = (time.perf_counter() - collected) * 1e3
        gc.freeze()  # as the live loop does after its start (engine/orchestrator.py, release_heap)
        collected = time.perf_counter()
        gc.collect()
        frozen_collection_ms = (time.perf_counter() - collected) * 1e3
        stats0 = gc.get_stats()
        gc.callbacks.append(gc_pause)
        untimed = 3
        profiler = cProfile.Profile() if profile is not None else None
        for j, k in enumerate(track(range(first, first + cycles), description="live board cycles", transient=True)):
            rows = bars[stamps == whole.ts[k]]
            if profiler is not None and j >= untimed:
                profiler.enable()
            wall, cpu = time.perf_counter(), time.process_time()
            timing.append(True)
            grown = stages.wrap("append bars", engine.panel.append)(rows)
            features = stages.wrap("features (LiveFeatures.extend)", live.extend)(grown)
            stages.wrap("Engine.extend", engine.extend)(grown, features)
            stages.wrap("Engine.step", engine.step)(k)
            wall_ms = (time.perf_counter() - wall) * 1e3
            cpu_ms = (time.process_time() - cpu) * 1e3
            timing.clear()
            if profiler is not None:
                profiler.disable()
            stages.close_bar(j >= untimed)
            between = time.perf_counter()
            if prepare is not None:
                prepare(FeatureView(engine.features, k))
            if j >= untimed:
                decision_ms.append(wall_ms)
                decision_cpu_ms.append(cpu_ms)
                prepare_ms.append((time.perf_counter() - between) * 1e3)
        gc.callbacks.remove(gc_pause)
        collections = [b["collections"] - a["collections"] for a, b in zip(stats0, gc.get_stats(), strict=True)]
        gc.unfreeze()
        held_at_end = len([p for p in engine.ledger.positions.values() if p.qty != 0])
        solving = _construction_with_longs(engine, range(first + untimed, min(first + cycles, first + untimed + 30)))
        if assembly.recorder is not None:
            assembly.recorder.finish("finished", {})
        db.dispose()
    if profiler is not None and profile is not None:
        profiler.dump_stats(str(profile))
    stats = _stats(decision_ms)
    cpu_stats = _stats(decision_cpu_ms)
    size_keys = ("hidden", "layers", "lookback", "total_timesteps", "net_arch", "windows")
    sizes = {name: {k: man.config[k] for k in size_keys if k in man.config} for name, man in built.manifests.items()}
    return {
        "p50_ms": stats["p50_ms"],
        "p99_ms": stats["p99_ms"],
        "symbols": symbols,
        "members": member_names,
        "voting": sorted(m for m in member_names if m not in built.left_out),
        "left_out_by_quality_gate": dict(built.left_out),
        "strategy": built.strategy.name,
        "cycles": stats,
        "cpu_ms": cpu_stats,
        "stages": stages.summary(),
        "between_bars_prepare": _stats(prepare_ms) if prepare_ms else None,
        "construction_when_holding_longs": solving,
        "gc": {
            "tracked_objects_after_setup": tracked,
            "full_collection_ms_after_setup": full_collection_ms,
            "full_collection_ms_after_freeze": frozen_collection_ms,
            "collections_per_generation_during_the_bars": collections,
            "thresholds": list(gc.get_threshold()),
        },
        "positions_held_at_end": held_at_end,
        "orders_submitted": len(submitted),
        "fills": len(filled),
        "decisions_sha256": _fingerprint(weights, submitted, filled),
        "board_calibration": settings.board.calibration,
        "risk_construction": settings.risk.construction,
        "path": "bar close -> Panel.append -> LiveFeatures.extend -> Engine.extend -> Engine.step "
        "(prepare between bars)",
        "commit": "writer thread (settled before the next bar fills)",
        "models": f"papertrader train all{' --small' if small else ''} on the bundled data before 2008 "
        "(price families)",
        "model_sizes": sizes,
        "training_s": trained_s,  # ~0 when --home already held the trained models
        "models_reused_from_home": reused,
        "input": bench_data.HOW + "; daily bars re-stamped on XNYS sessions from 2009-01-02, after the training data",
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, torch threads {torch.get_num_threads()}",
        "load_average_at_end": os.getloadavg(),  # the box is shared: wall times move with it, CPU times less
    }


def main() -> None:
    """Print the table and write benchmarks/results/decision_latency.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--slow-cycles", type=int, default=15)
    parser.add_argument("--ppo-steps", type=int, default=2048)
    parser.add_argument("--symbols", type=int, default=N_SYMBOLS)
    parser.add_argument("--history", type=int, default=400, help="rows before the first timed cycle")
    parser.add_argument("--stand-ins", action="store_true", help="the earlier untrained stand-in board instead")
    parser.add_argument("--small", action="store_true", help="CI-sized models (`train all --small`), not production")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the timed bars' decision path here")
    parser.add_argument("--calibration", choices=("isotonic", "platt", "none"), help="board.calibration override")
    parser.add_argument("--construction", choices=("auto", "mean_variance", "none"), help="risk.construction override")
    parser.add_argument("--members", help="board members, comma-separated (default: the board's own default)")
    parser.add_argument(
        "--solve-only",
        action="store_true",
        help="only the construction at --symbols names beside PyPortfolioOpt's solve (construction_solve.json)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "decision_latency.json")
    parser.add_argument(
        "--home", type=Path, help="a PAPERTRADER_HOME to train into once and reuse (default: temporary)"
    )
    args = parser.parse_args()
    if not bench_data.available():
        sys.exit("shared data not found: this benchmark builds its input from ../shared/data")
    logging.disable(logging.WARNING)
    if args.solve_only:
        solved = measure_solve(args.symbols, args.cycles)
        for name in ("screened", "pyportfolioopt"):
            st = solved[name]
            Console().print(
                f"{name}: wall p50 {st['p50_ms']:.1f} ms, p99 {st['p99_ms']:.1f} ms; "
                f"CPU p50 {st['cpu_p50_ms']:.1f} ms, p99 {st['cpu_p99_ms']:.1f} ms ({st['cycles']} bars)"
            )
        Console().print(f"largest weight difference {solved['max_abs_weight_difference']:.2e}")
        out = args.out if args.out != RESULTS / "decision_latency.json" else RESULTS / "construction_solve.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(solved, indent=2))
        return
    if not args.stand_ins:
        members = tuple(args.members.split(",")) if args.members else None
        board = measure_board(
            args.cycles,
            args.history,
            args.symbols,
            args.home,
            args.small,
            members,
            args.profile,
            args.calibration,
            args.construction,
        )
        Console().print(
            f"board {board['strategy']} ({', '.join(board['members'])}), {board['symbols']} symbols: "
            f"p50 {board['p50_ms']:.1f} ms, p99 {board['p99_ms']:.1f} ms over {board['cycles']['cycles']} cycles"
        )
        table = Table(title="stages of the live decision (ms)")
        for col in ("stage", "p50", "p99", "mean"):
            table.add_column(col, justify="right")
        for name, st in board["stages"].items():
            table.add_row(
                f"{name} ({st['bars']} bars)", f"{st['p50_ms']:.2f}", f"{st['p99_ms']:.2f}", f"{st['mean_ms']:.2f}"
            )
        Console().print(table)
        solve = board["construction_when_holding_longs"]
        Console().print(
            f"construction with {solve['longs_asked']} longs (solving): p50 {solve['p50_ms']:.1f} ms, "
            f"p99 {solve['p99_ms']:.1f} ms; decision CPU p50 {board['cpu_ms']['p50_ms']:.1f} ms, "
            f"p99 {board['cpu_ms']['p99_ms']:.1f} ms"
        )
        args.out.parent.mkdir(exist_ok=True)
        args.out.write_text(json.dumps(board, indent=2))
        return
    r = measure(args.cycles, args.slow_cycles, args.ppo_steps)
    table = Table(title=f"full live cycle, {N_SYMBOLS} symbols, LSTM+GRU+PPO, risk, broker")
    for col in ("variant", "cycles", "p50 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="right")
    for key, label in (
        ("full_cycle_sqlite", "batched inference + SQLite commit"),
        ("full_cycle_no_db", "batched inference, no database"),
        ("per_symbol_inference_sqlite_free", "per-symbol inference, no database"),
    ):
        s = r[key]
        table.add_row(label, str(s["cycles"]), f"{s['p50_ms']:.1f}", f"{s['p99_ms']:.1f}", f"{s['max_ms']:.1f}")
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "decision_latency.json").write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
