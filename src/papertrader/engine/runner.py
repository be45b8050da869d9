"""Loads a backtest or replay window from the lake, has engine/kernel.py assemble the run, drives the loop, and
turns it into an honest result."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from papertrader.config.settings import Settings
from papertrader.core.arrays import Array
from papertrader.core.errors import ConfigError, DataError
from papertrader.core.ids import new_run_id
from papertrader.data.actions import infer_actions
from papertrader.data.store import Lake
from papertrader.domain.types import Fill
from papertrader.engine import kernel
from papertrader.engine.benchmark import buy_and_hold
from papertrader.engine.caveats import run_caveats
from papertrader.engine.control import RunControl, bounded_wait
from papertrader.engine.cycle import CycleOutcome, Engine
from papertrader.engine.health import Status
from papertrader.engine.kernel import RunSpec, stored_settings
from papertrader.engine.kernel import restore_committed as restore_committed  # its old home, for callers
from papertrader.engine.notifier import attach_notifier, no_notifier
from papertrader.engine.outcomes import Outcomes
from papertrader.engine.panel import Panel
from papertrader.features.technical import TechnicalSpec
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import RunRepository
from papertrader.portfolio.metrics import Metrics, periods_per_year, summarize
from papertrader.signals.base import Closable, MemberStatusReporter

log = logging.getLogger(__name__)

Mode = Literal["backtest", "replay"]


@dataclass(frozen=True)
class RunRequest:
    """What to run: universe, interval, window and mode. Empty symbols means every equity in the lake."""

    symbols: tuple[str, ...] = ()
    interval: str = "1d"
    start: datetime | None = None
    end: datetime | None = None
    mode: Mode = "backtest"
    speed: float = 0.0
    run_id: str | None = None
    resume: bool = False
    #: model members pinned to registered versions, and the home whose registry holds them (None: settings.home);
    #: `hyperopt --strategy ensemble` runs each fold on models trained before it (engine/hyperopt_board.py)
    versions: tuple[tuple[str, str], ...] = ()
    models_home: Path | None = None
    #: cycles per commit instead of the mode's own (a trial window commits once; engine/kernel.py RunSpec)
    commit_every: int | None = None


@dataclass(frozen=True)
class RunResult:
    """A finished run: its curves, fills and metrics beside buy-and-hold of the same symbols."""

    run_id: str
    mode: Mode
    interval: str
    symbols: tuple[str, ...]
    ts: pd.DatetimeIndex
    equity: Array
    benchmark_equity: Array
    fills: tuple[Fill, ...]
    metrics: Metrics
    benchmark: Metrics
    initial_cash: Decimal
    final_equity: Decimal
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Stable keys for --json files and scripts."""
        m = self.metrics
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "interval": self.interval,
            "start": self.ts[0].isoformat(),
            "end": self.ts[-1].isoformat(),
            "cycles": len(self.ts),
            "symbols": list(self.symbols),
            "initial_cash": float(self.initial_cash),
            "final_equity": float(self.final_equity),
            **{k: v for k, v in m.as_dict().items()},
            "benchmark": {
                "name": "equal-weight buy-and-hold of the same symbols, same window and entry costs",
                "final_equity": float(self.benchmark_equity[-1]),
                "total_return": self.benchmark.total_return,
                "cagr": self.benchmark.cagr,
                "sharpe": self.benchmark.sharpe,
                "sortino": self.benchmark.sortino,
                "max_drawdown": self.benchmark.max_drawdown,
                "volatility": self.benchmark.volatility,
                "exposure": self.benchmark.exposure,
            },
            "fills": [
                {
                    "ts": f.ts.isoformat(),
                    "symbol": f.symbol,
                    "side": f.side.value,
                    "qty": f.qty,
                    "price": float(f.price),
                    "fee": float(f.fee),
                    "order_id": f.order_id,
                }
                for f in self.fills
            ],
            **self.extra,
        }


def default_symbols(lake: Lake, interval: str) -> tuple[str, ...]:
    """Every tradable symbol in the lake at this interval (indices such as ^GSPC are not tradable)."""
    symbols = tuple(s for s in lake.symbols(interval) if not s.startswith("^"))
    if not symbols:
        raise DataError(f"the lake has no {interval} bars; run `papertrader data import --source bundled`")
    return symbols


def load_panel(lake: Lake, request: RunRequest) -> tuple[Panel, int]:
    """Bars up to the window's end and the index of the first cycle inside the window.

    Bars before `start` are loaded only to warm up indicators; no trading happens on them.
    """
    if request.start is not None and request.end is not None and request.start >= request.end:
        raise ConfigError(
            f"--start {request.start:%Y-%m-%d} is after --end {request.end:%Y-%m-%d}: the window is empty "
            "(the end is exclusive)"
        )
    symbols = request.symbols or default_symbols(lake, request.interval)
    bars = lake.read_bars(list(symbols), request.interval, None, request.end, with_factor=True)
    panel = Panel.from_long(bars, request.interval, tuple(symbols), corporate_actions(lake, bars, symbols))
    first = 0
    if request.start is not None:
        first = int(panel.ts.searchsorted(pd.Timestamp(request.start)))
        if first >= len(panel) - 1:
            raise DataError(f"no bars after {request.start:%Y-%m-%d} for {', '.join(symbols)}")
    return panel, first


def corporate_actions(lake: Lake, bars: pd.DataFrame, symbols: Sequence[str]) -> pd.DataFrame:
    """The stored splits and dividends of the symbols; a symbol with factor steps but none stored gets
    them read off its factor (data/actions.py), so its raw prices never jump without its positions."""
    stored = lake.read_actions(list(symbols))
    if "adj_factor" not in bars.columns:
        return stored
    missing = bars["symbol"].isin(set(symbols) - set(stored["symbol"]))
    if not bool(missing.any()):
        return stored
    inferred = infer_actions(bars.loc[missing])
    if inferred.empty:
        return stored
    log.info("corporate actions read off the stored factor for %s", ", ".join(sorted(set(inferred["symbol"]))))
    return pd.concat([stored, inferred], ignore_index=True)


def feature_spec(settings: Settings) -> TechnicalSpec:
    """The indicator set: the textbook periods plus whatever the strategy reads."""
    fast, slow = settings.strategy.fast, settings.strategy.slow
    return TechnicalSpec(sma=tuple(sorted({fast, slow, 20, 50})))


def _open_repository(settings: Settings) -> RunRepository:
    db = make_engine(settings.db_url)
    init_db(db)
    return RunRepository(db)


def _resume_request(settings: Settings, request: RunRequest, repo: RunRepository) -> tuple[Settings, RunRequest]:
    """The stored run's own settings and window, so a resumed run continues exactly as it began."""
    if request.run_id is None:
        raise ConfigError("--resume needs --run-id of the run to continue")
    stored = repo.get_run(request.run_id)
    if stored is None:
        raise ConfigError(f"no run {request.run_id} to resume; `papertrader runs` lists them")
    if stored.end is None or stored.start is None:
        raise DataError(f"run {request.run_id} has no stored window; it cannot be resumed")
    resumed_settings = stored_settings(stored.config, settings)
    resumed = replace(
        request,
        symbols=tuple(stored.symbols),
        interval=stored.interval,
        start=stored.start,
        end=stored.end + timedelta(microseconds=1),
    )
    return resumed_settings, resumed


def run(
    settings: Settings,
    request: RunRequest,
    *,
    pace: Callable[[float], None] | None = None,
    on_cycle: Callable[[CycleOutcome], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    persist: bool = True,
    control: RunControl | None = None,
    on_engine: Callable[[Engine, int], None] | None = None,
    repo: RunRepository | None = None,
    sparse: bool = True,
    load: Callable[[Lake, RunRequest], tuple[Panel, int]] = load_panel,
) -> RunResult:
    """Run a backtest or a replay through the single engine loop and persist it (or resume one).

    `repo` is the run store to write to (default: the settings' database); a parallel task passes a private one.
    sparse: a backtest of a strategy with `decide_all` steps only the cycles where something can happen
    (engine/sparse.py; identical results, every cycle still recorded). A replay steps every cycle: it is paced
    and watched cycle by cycle. `load` gives the window's panel and first cycle (`load_panel`; a trial hands in
    the prefix of the panel it read once, engine/trial_data.py).
    """
    if repo is None:
        repo = _open_repository(settings) if persist or request.resume else None
    if request.resume:
        assert repo is not None
        settings, request = _resume_request(settings, request, repo)
    lake = Lake(settings.lake_dir)
    panel, first = load(lake, request)
    run_id = request.run_id or new_run_id(panel.open_times[first] if request.mode == "backtest" else _wall_now())
    spec = RunSpec(
        run_id,
        request.mode,
        first,
        resume=request.resume,
        versions=dict(request.versions),
        models_home=request.models_home,
        record_every=request.commit_every,
    )
    assembly = kernel.assemble(settings, spec, panel, lake=lake, repo=repo)
    engine, recorder, last_cycle = assembly.engine, assembly.recorder, assembly.last_cycle
    strategy = engine.strategy
    on_cycle = board_health(engine, on_cycle)
    pacer: Callable[[int], None] | None = None
    if control is not None:
        pacer = _controlled_pacer(panel, engine, control, request.mode == "replay")
        outer_stop = should_stop
        should_stop = lambda: control.should_stop() or bool(outer_stop and outer_stop())  # noqa: E731
    elif request.mode == "replay":
        pacer = _pacer(panel, request.speed, pace)
    stop_notifier: Callable[[], object] = no_notifier
    try:
        stop_notifier = attach_notifier(engine.bus, run_id)  # PAPERTRADER_NOTIFY_URLS; a no-op without it
        if on_engine is not None:
            on_engine(engine, len(panel) - first)
        if on_start is not None:
            on_start(len(panel) - first)
        outcomes = engine.run(
            last_cycle + 1,
            pace=pacer,
            on_cycle=on_cycle,
            should_stop=should_stop,
            sparse=sparse and request.mode == "backtest",
        )
    except BaseException as exc:
        if recorder is not None:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            recorder.finish(status, {"error": f"{type(exc).__name__}: {exc}"})
        raise
    finally:
        close_strategy(strategy)
        stop_notifier()
    if recorder is not None:
        recorder.flush()
    curve = _stored_curve(repo, run_id) if repo is not None else _outcome_curve(outcomes, first)
    result = _result(run_id, request, panel, first, curve, settings, engine.ledger.initial_cash)
    result.extra["cycle_latency"] = engine.latency.percentiles()
    result.extra["health"] = {name: c.status.value for name, c in engine.health.snapshot().items()}
    result.extra["halted"] = engine.halted
    kill = engine.risk.kill_switch
    result.extra["kill_switch"] = {"fired": kill.fired, "drawdown": kill.fired_at_drawdown, "limit": kill.threshold}
    bars = dict(zip(panel.symbols, np.isfinite(panel.prices.close).sum(axis=0).tolist(), strict=True))
    result.extra["caveats"] = list(run_caveats(result.ts, bars, settings.strategy.slow))
    if recorder is not None:
        complete = first + len(curve.equity) == len(panel)
        recorder.finish("finished" if complete else "interrupted", _summary(result))
    return result


def close_strategy(strategy: object) -> None:
    """Release what a strategy holds (the board's advisor threads and HTTP clients) when its run ends."""
    if isinstance(strategy, Closable):
        try:
            strategy.close()
        except Exception:  # closing must never hide the run's own outcome
            log.exception("strategy did not close cleanly")


def board_health(
    engine: Engine, on_cycle: Callable[[CycleOutcome], None] | None
) -> Callable[[CycleOutcome], None] | None:
    """Wrap on_cycle so that board members reporting their own health (advisors) show on the health board."""
    if not isinstance(engine.strategy, MemberStatusReporter):
        return on_cycle
    status_of = engine.strategy.member_status

    def after(outcome: CycleOutcome) -> None:
        for name, (status, message) in status_of().items():
            engine.set_health(f"advisor.{name}", Status(status), message, outcome.ts)
        if on_cycle is not None:
            on_cycle(outcome)

    return after


@dataclass(frozen=True)
class _Curve:
    equity: Array
    gross: Array
    fills: tuple[Fill, ...]
    final_equity: Decimal


def _outcome_curve(outcomes: Sequence[CycleOutcome], first: int) -> _Curve:
    if not outcomes:
        raise DataError("the run stopped before its first cycle")
    if isinstance(outcomes, Outcomes):  # read in bulk: quiet stretches are kept as arrays
        return _Curve(outcomes.equities(), outcomes.gross(), outcomes.fills(), outcomes[-1].valuation.equity)
    return _Curve(
        equity=np.array([float(o.valuation.equity) for o in outcomes]),
        gross=np.array([float(o.valuation.gross_exposure) for o in outcomes]),
        fills=tuple(f for o in outcomes for f in o.fills),
        final_equity=outcomes[-1].valuation.equity,
    )


def _stored_curve(repo: RunRepository, run_id: str) -> _Curve:
    """The whole run as committed (across restarts): the database is the source of truth."""
    stored = repo.load_equity(run_id, exact=True)
    if stored.empty:
        raise DataError("the run stopped before its first cycle")
    equity = np.array([float(v) for v in stored["equity"]])
    return _Curve(
        equity=equity,
        gross=stored["gross_exposure"].to_numpy(dtype=np.float64) * equity,
        fills=tuple(repo.load_fills(run_id)),
        final_equity=stored["equity"].iloc[-1],
    )


def _summary(result: RunResult) -> dict[str, Any]:
    data = result.to_json()
    data.pop("fills")
    return data


def _wall_now() -> datetime:
    from papertrader.core.clock import WallClock

    return WallClock().now()


def _pacer(panel: Panel, speed: float, sleep: Callable[[float], None] | None) -> Callable[[int], None] | None:
    """Wait between cycles so market time passes `speed` times faster than wall time (0: no wait)."""
    if speed <= 0:
        return None
    if sleep is None:
        from papertrader.core.clock import WallClock

        sleep = WallClock().sleep
    wait = sleep

    def pace(k: int) -> None:
        gap = (panel.ts[k] - panel.ts[k - 1]).total_seconds()
        wait(bounded_wait(gap / speed))

    return pace


def apply_mode(engine: Engine, control: RunControl) -> None:
    """Hand a pending paper/observe switch from the operator to the engine (between cycles only)."""
    observe = control.take_mode()
    if observe is not None:
        engine.set_observing(observe, "observe-only: no orders" if observe else "paper trading resumed")


def _controlled_pacer(panel: Panel, engine: Engine, control: RunControl, paced: bool) -> Callable[[int], None]:
    """Between cycles: honour pause, flatten and reset requests, then wait per the current speed."""

    def pace(k: int) -> None:
        control.wait_while_paused()
        if control.take_flatten():
            engine.halt("flatten requested by the operator")
        if control.take_reset():
            engine.unhalt("trading resumed by the operator")
        apply_mode(engine, control)
        speed = control.speed
        if paced and speed > 0:
            control.sleep((panel.ts[k] - panel.ts[k - 1]).total_seconds() / speed)

    return pace


def _result(
    run_id: str,
    request: RunRequest,
    panel: Panel,
    first: int,
    curve: _Curve,
    settings: Settings,
    initial_cash: Decimal,
) -> RunResult:
    cycles = len(curve.equity)
    window = panel.ts[first : first + cycles]
    ppy = periods_per_year(len(set(window.tz_convert("America/New_York").date)), cycles)  # distinct NY dates
    bench, bench_invested = buy_and_hold(panel, settings.initial_cash, settings.costs, first)
    bench, bench_invested = bench[:cycles], bench_invested[:cycles]
    return RunResult(
        run_id=run_id,
        mode=request.mode,
        interval=request.interval,
        symbols=panel.symbols,
        ts=window,
        equity=curve.equity,
        benchmark_equity=bench,
        fills=curve.fills,
        metrics=summarize(curve.equity, curve.gross, curve.fills, ppy),
        benchmark=summarize(bench, bench_invested, (), ppy),
        initial_cash=initial_cash,
        final_equity=curve.final_equity,
    )
