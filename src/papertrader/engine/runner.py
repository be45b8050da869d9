"""Builds a run from settings and the lake, drives the loop, and turns it into an honest result."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock
from papertrader.core.errors import DataError
from papertrader.core.events import EventBus
from papertrader.core.ids import new_run_id
from papertrader.data.store import Lake
from papertrader.domain.types import Fill
from papertrader.engine.benchmark import buy_and_hold
from papertrader.engine.cycle import CycleOutcome, Engine
from papertrader.engine.panel import Panel
from papertrader.engine.recorder import BatchRecorder
from papertrader.features.technical import Array, TechnicalSpec, compute_technical
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import RunInfo, RunRepository
from papertrader.portfolio.metrics import Metrics, periods_per_year, summarize
from papertrader.signals.trend import TrendFollowing

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
    symbols = request.symbols or default_symbols(lake, request.interval)
    bars = lake.read_bars(list(symbols), request.interval, None, request.end)
    panel = Panel.from_long(bars, request.interval, tuple(symbols))
    first = 0
    if request.start is not None:
        first = int(panel.ts.searchsorted(pd.Timestamp(request.start)))
        if first >= len(panel) - 1:
            raise DataError(f"no bars after {request.start:%Y-%m-%d} for {', '.join(symbols)}")
    return panel, first


def feature_spec(settings: Settings) -> TechnicalSpec:
    """The indicator set: the textbook periods plus whatever the strategy reads."""
    fast, slow = settings.strategy.fast, settings.strategy.slow
    return TechnicalSpec(sma=tuple(sorted({fast, slow, 20, 50})))


def run(
    settings: Settings,
    request: RunRequest,
    *,
    pace: Callable[[float], None] | None = None,
    on_cycle: Callable[[CycleOutcome], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    persist: bool = True,
) -> RunResult:
    """Run a backtest or a replay through the single engine loop and persist it."""
    lake = Lake(settings.lake_dir)
    panel, first = load_panel(lake, request)
    features = compute_technical(panel.prices, feature_spec(settings))
    strategy = TrendFollowing(len(panel.symbols), settings.strategy.fast, settings.strategy.slow)
    start_time = panel.bar(first).open_time
    clock = SimClock(start_time)
    run_id = request.run_id or new_run_id(start_time if request.mode == "backtest" else _wall_now())
    bus = EventBus()
    recorder: BatchRecorder | None = None
    if persist:
        db = make_engine(settings.db_url)
        init_db(db)
        repo = RunRepository(db)
        repo.create_run(
            RunInfo(
                id=run_id,
                mode=request.mode,
                interval=request.interval,
                symbols=panel.symbols,
                start=panel.ts[first].to_pydatetime(),
                end=panel.ts[-1].to_pydatetime(),
                initial_cash=Decimal(repr(settings.initial_cash)),
                config=settings.model_dump(mode="json", exclude={"home", "database_url"}),
                created_at=_wall_now(),
            )
        )
        recorder = BatchRecorder(repo, run_id, every=1 if request.mode == "replay" else 500)
    engine = Engine(
        run_id=run_id,
        panel=panel,
        features=features,
        strategy=strategy,
        settings=settings,
        clock=clock,
        bus=bus,
        recorder=recorder,
    )
    pacer = _pacer(panel, request.speed, pace) if request.mode == "replay" else None
    if on_start is not None:
        on_start(len(panel) - first)
    try:
        outcomes = engine.run(first, pace=pacer, on_cycle=on_cycle, should_stop=should_stop)
    except BaseException as exc:
        if recorder is not None:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            recorder.finish(status, {"error": f"{type(exc).__name__}: {exc}"})
        raise
    result = _result(run_id, request, panel, first, outcomes, engine, settings)
    if recorder is not None:
        complete = len(outcomes) == len(panel) - first
        recorder.finish("finished" if complete else "interrupted", _summary(result))
    return result


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
        wait(gap / speed)

    return pace


def _result(
    run_id: str,
    request: RunRequest,
    panel: Panel,
    first: int,
    outcomes: Sequence[CycleOutcome],
    engine: Engine,
    settings: Settings,
) -> RunResult:
    if not outcomes:
        raise DataError("the run stopped before its first cycle")
    equity = np.array([float(o.valuation.equity) for o in outcomes])
    gross = np.array([float(o.valuation.gross_exposure) for o in outcomes])
    fills = tuple(f for o in outcomes for f in o.fills)
    last = first + len(outcomes)
    window = panel.ts[first:last]
    ppy = periods_per_year(int(window.tz_convert("America/New_York").normalize().nunique()), len(window))
    bench, bench_invested = buy_and_hold(panel, settings.initial_cash, settings.costs, first)
    bench, bench_invested = bench[: len(outcomes)], bench_invested[: len(outcomes)]
    return RunResult(
        run_id=run_id,
        mode=request.mode,
        interval=request.interval,
        symbols=panel.symbols,
        ts=window,
        equity=equity,
        benchmark_equity=bench,
        fills=fills,
        metrics=summarize(equity, gross, fills, ppy),
        benchmark=summarize(bench, bench_invested, (), ppy),
        initial_cash=engine.ledger.initial_cash,
        final_equity=outcomes[-1].valuation.equity,
    )
