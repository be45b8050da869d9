"""The seven-day paper trial, replayed through the whole system over many windows no model trained on.

**Held-out span.** It begins at the first bar after the latest ``training_window.end`` of every registry
model the configured strategy uses, plus an embargo of that model's label horizon (in the model's own bars;
a GRU's weekly bars count five sessions each), or after the manifest's ``data_end`` when it is later: the
validation rows after the training window steered early stopping and temperature calibration, so they are
not held out either (``papertrader train --until DATE`` bounds them). That bound is ``models.holdout``'s,
the one ``compare``, ``backtest`` / ``paper --replay`` and the board's calibration use too. The trend
baseline uses no model: the span then begins at ``--after`` when given, else one calendar year after the
first bar, left to warm indicators up.
An explicit ``--after`` that would put a window inside a model's training window (embargo included) is
refused with a ConfigError, never silently moved.

**Windows.** The held-out sessions are cut into consecutive, non-overlapping slots of ``days`` trading
sessions from the start of the span (a partial slot at the end is dropped). N windows are then taken
*evenly spaced* over the slots (slot ``i * (M - 1) // (N - 1)`` of M), or every slot with ``windows=None``.
Even spacing rather than the first N consecutive slots, because a handful of consecutive weeks would all sit
in one market regime and the pass rate would describe a month, not the held-out span; the slot grid depends
only on the calendar and the count, so it is fixed before any window runs and cannot favour good results.

**Each window** is one persisted run (mode ``replay``, speed 0: the path of ``paper --replay``, assembled by
``engine/kernel.py`` like every run) with fresh initial cash; bars before the window are loaded only to warm
indicators up. Its run id is ``<trial id>-wNNN``, so ``papertrader report`` and ``papertrader check`` work on
it. The trial reads its bars from the lake once and gives each window the prefix of that panel up to the window's
end (``engine/trial_data.py``: what the window's own load builds), every window writes to one run store, and a
window's few cycles are committed in one transaction (the same rows as a commit per cycle; nobody watches a
window cycle by cycle). Beside it, on the same dates and symbols: buy-and-hold, buy-and-hold scaled to the
window's realised volatility, and the trend baseline (a backtest of ``strategy.name = "trend"`` over the window,
not persisted). Uptime, critical failures, the baselines and the criteria (which sitting in cash cannot pass) are
defined in ``engine/trial_score.py``.

**Default universe**: every tradable symbol in the lake whose history begins at or before the held-out
start, so one constant universe trades every window (a later listing would change the universe mid-trial).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final

import pandas as pd

from papertrader.config.settings import Settings
from papertrader.core.clock import Clock
from papertrader.core.errors import ConfigError, DataError
from papertrader.core.ids import new_run_id
from papertrader.data.store import Lake
from papertrader.domain.events import CycleClosed, DomainEvent
from papertrader.domain.sessions import NEW_YORK
from papertrader.engine.check import check_run
from papertrader.engine.cycle import CycleOutcome, Engine
from papertrader.engine.panel import Panel
from papertrader.engine.parallel import Workers, worker_repository
from papertrader.engine.plugins import is_builtin_strategy
from papertrader.engine.runner import RunRequest, RunResult, default_symbols, load_panel, run
from papertrader.engine.trial_data import TrialBars
from papertrader.engine.trial_score import (
    Criteria,
    TrialSummary,
    WindowScore,
    critical_failures,
    summarize_windows,
    uptime,
)
from papertrader.models.holdout import sample_bound
from papertrader.models.registry import MEMBER_FAMILY, Registry
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import RunRepository
from papertrader.persistence.transfer import StoredRun, import_run, take_run
from papertrader.portfolio.inference import vol_matched
from papertrader.portfolio.metrics import max_drawdown, periods_per_year, returns, sharpe

log = logging.getLogger(__name__)
LAYOUT: Final = "evenly spaced over consecutive non-overlapping slots of the held-out span"
WARMUP: Final = timedelta(days=365)
#: registry family of each model-backed member or single-model strategy ("trend" reads no model)
FAMILY: Final[dict[str, str]] = dict(MEMBER_FAMILY)
STRATEGIES: Final = ("trend", "lstm", "gru", "ppo", "ensemble")


@dataclass(frozen=True)
class TrialRequest:
    """What to trial: window length in sessions, how many windows (None, the default: all), universe, interval."""

    days: int = 7
    windows: int | None = None
    symbols: tuple[str, ...] = ()
    interval: str = "1d"
    after: datetime | None = None
    criteria: Criteria = field(default_factory=Criteria)
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.days < 2:
            raise ConfigError("--days must be at least 2 sessions (a Sharpe ratio needs two returns)")
        if self.windows is not None and self.windows < 1:
            raise ConfigError("--windows must be a positive number or 'all'")


@dataclass(frozen=True)
class Exclusion:
    """A span no window may touch: a model's training window, its embargo included."""

    label: str
    start: datetime
    end: datetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """True when [start, end] shares any instant with this span."""
        return start <= self.end and end >= self.start

    def to_json(self) -> dict[str, str]:
        """Stable keys for the trial JSON."""
        return {"label": self.label, "start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass(frozen=True)
class HeldOut:
    """Where windows may start, why, and the spans they must avoid."""

    start: datetime
    reason: str
    exclusions: tuple[Exclusion, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Stable keys for the trial JSON."""
        return {
            "start": self.start.isoformat(),
            "reason": self.reason,
            "exclusions": [e.to_json() for e in self.exclusions],
        }


@dataclass(frozen=True)
class Window:
    """One trial window: its place in the slot grid and the first and last bar it trades."""

    index: int
    slot: int
    start: datetime
    end: datetime
    bars: int

    def request(self, symbols: tuple[str, ...], interval: str, run_id: str) -> RunRequest:
        """The replay of exactly this window (earlier bars only warm up indicators), committed in one transaction."""
        return RunRequest(
            symbols=symbols,
            interval=interval,
            start=self.start,
            end=self.end + timedelta(microseconds=1),
            mode="replay",
            speed=0.0,
            run_id=run_id,
            commit_every=self.bars,
        )


def layout_slots(available: int, count: int | None) -> list[int]:
    """Slot indices of the windows: every slot, or `count` evenly spaced ones (first and last included)."""
    if available < 1:
        raise ConfigError("the held-out span is shorter than one window; use fewer --days or an earlier --after")
    if count is None:
        return list(range(available))
    if count > available:
        raise ConfigError(
            f"only {available} non-overlapping windows fit in the held-out span; ask for --windows {available} "
            "or fewer (or --windows all)"
        )
    if count == 1:
        return [0]
    return [i * (available - 1) // (count - 1) for i in range(count)]


def sessions_of(ts: pd.DatetimeIndex) -> pd.Index:
    """The New York session date of every bar stamp."""
    return pd.Index(ts.tz_convert(NEW_YORK).date)


def layout_windows(ts: pd.DatetimeIndex, held_out: HeldOut, days: int, count: int | None) -> list[Window]:
    """Non-overlapping windows of `days` sessions inside the held-out span, refusing any training overlap."""
    ts = pd.DatetimeIndex(ts).sort_values().unique()
    inside = ts[ts >= pd.Timestamp(held_out.start)]
    if inside.empty:
        raise ConfigError(f"no bars at or after the held-out start {held_out.start:%Y-%m-%d}")
    days_of = sessions_of(inside)
    unique_days = pd.Index(days_of.unique())
    available = len(unique_days) // days
    windows: list[Window] = []
    for n, slot in enumerate(layout_slots(available, count), start=1):
        wanted = unique_days[slot * days : (slot + 1) * days]
        mask = days_of.isin(wanted)
        bars = inside[mask]
        start, end = bars[0].to_pydatetime(), bars[-1].to_pydatetime()
        for ex in held_out.exclusions:
            if ex.overlaps(start, end):
                raise ConfigError(
                    f"window {n} ({start:%Y-%m-%d}..{end:%Y-%m-%d}) overlaps {ex.label} "
                    f"({ex.start:%Y-%m-%d}..{ex.end:%Y-%m-%d}); pass --after {ex.end + timedelta(days=1):%Y-%m-%d} "
                    "or later, or train the model on earlier data"
                )
        windows.append(Window(n, slot, start, end, int(mask.sum())))
    return windows


def strategy_name(settings: Settings) -> str:
    """The strategy the settings name (the trend baseline when the settings predate strategy names)."""
    return str(getattr(settings.strategy, "name", "trend"))


def model_families(settings: Settings) -> tuple[str, ...]:
    """Registry families the configured strategy reads: its model, or every model member of the board."""
    name = strategy_name(settings)
    if name not in STRATEGIES and is_builtin_strategy(name):  # a plug-in reads no registered model
        raise ConfigError(f"unknown strategy {name!r}: the trial knows {', '.join(STRATEGIES)}")
    members = tuple(getattr(getattr(settings, "board", None), "members", FAMILY)) if name == "ensemble" else (name,)
    return tuple(dict.fromkeys(FAMILY[m] for m in members if m in FAMILY))


def model_exclusions(
    registry: Registry, families: Sequence[str], ts: pd.DatetimeIndex, interval: str
) -> tuple[Exclusion, ...]:
    """The training window (+ embargo, or data_end when later) of each family's live version (models.holdout)."""
    out: list[Exclusion] = []
    for family in families:
        version = registry.current(family)
        if version is None:
            raise ConfigError(f"the strategy needs a live {family} model; run `papertrader train all` first")
        bound = sample_bound(family, registry.manifest(family, version), ts, interval)
        out.append(Exclusion(bound.label, bound.training_start.to_pydatetime(), bound.last_seen.to_pydatetime()))
    return tuple(out)


def held_out_span(ts: pd.DatetimeIndex, exclusions: Sequence[Exclusion], after: datetime | None) -> HeldOut:
    """Where windows may start: `after` if given, else past every exclusion, else after a warm-up year."""
    if ts.empty:
        raise DataError("no bars to lay trial windows on")
    if after is not None:
        return HeldOut(after, f"--after {after:%Y-%m-%d}", tuple(exclusions))
    if exclusions:
        last = max(e.end for e in exclusions)
        later = ts[ts > pd.Timestamp(last)]
        if later.empty:
            raise ConfigError(f"no bars after the models' training windows (last ends {last:%Y-%m-%d})")
        return HeldOut(
            later[0].to_pydatetime(), "after every model's training data and label embargo", tuple(exclusions)
        )
    start = ts[0].to_pydatetime() + WARMUP
    return HeldOut(start, "no model: the first year of data warms indicators up", ())


@dataclass(frozen=True)
class TrialPlan:
    """Everything decided before any window runs: universe, span and windows."""

    trial_id: str
    strategy: str
    symbols: tuple[str, ...]
    interval: str
    days: int
    held_out: HeldOut
    windows: tuple[Window, ...]
    available: int


def plan_trial(settings: Settings, request: TrialRequest, trial_id: str) -> TrialPlan:
    """Choose the universe, the held-out span and the windows from the lake and registry, not from results."""
    lake = Lake(settings.lake_dir)
    candidates = request.symbols or default_symbols(lake, request.interval)
    bars = lake.read_bars(list(candidates), request.interval)
    if bars.empty:
        raise DataError(f"no {request.interval} bars for {', '.join(candidates)}; import them first")
    ts_all = pd.DatetimeIndex(bars["ts"]).sort_values().unique()
    strategy = strategy_name(settings)
    exclusions = model_exclusions(Registry(settings.home), model_families(settings), ts_all, request.interval)
    held_out = held_out_span(ts_all, exclusions, request.after)
    firsts = bars.groupby("symbol")["ts"].min()
    late = [s for s in candidates if s not in firsts or firsts[s] > pd.Timestamp(held_out.start)]
    symbols = tuple(s for s in candidates if s not in late)
    if request.symbols and late:
        raise ConfigError(
            f"{', '.join(late)} has no bars before the held-out start {held_out.start:%Y-%m-%d}; drop it or pass a "
            "later --after"
        )
    if not symbols:
        raise DataError(f"no symbol has bars before the held-out start {held_out.start:%Y-%m-%d}")
    ts = pd.DatetimeIndex(bars.loc[bars["symbol"].isin(symbols), "ts"]).sort_values().unique()
    windows = layout_windows(ts, held_out, request.days, request.windows)
    inside = ts[ts >= pd.Timestamp(held_out.start)]
    available = len(sessions_of(inside).unique()) // request.days
    return TrialPlan(trial_id, strategy, symbols, request.interval, request.days, held_out, tuple(windows), available)


def trial_id(clock: Clock) -> str:
    """A sortable id for one trial; its windows are <id>-w001, <id>-w002, ..."""
    return f"trial-{new_run_id(clock.now())}"


def run_window(
    settings: Settings,
    plan: TrialPlan,
    window: Window,
    repo: RunRepository,
    on_cycle: Callable[[CycleOutcome], None] | None = None,
    *,
    bars: TrialBars | None = None,
) -> tuple[WindowScore, RunResult | None]:
    """Replay one window through the whole system and score it; a raising run is a failure, not an abort.

    The run writes to `repo` (the trial's store, or a task's own one: engine.parallel). `bars`: the trial's panel
    read once (engine/trial_data.py), whose prefix is the window's panel; None loads the window from the lake.
    """
    load = load_panel if bars is None else bars.window
    run_id = window_run_id(plan, window)
    events: list[DomainEvent] = []

    def listen(engine: Engine, _total: int) -> None:
        engine.bus.subscribe(events.append)

    result: RunResult | None = None
    raised: str | None = None
    try:
        request = window.request(plan.symbols, plan.interval, run_id)
        result = run(settings, request, on_cycle=on_cycle, on_engine=listen, repo=repo, load=load)
    except ConfigError:
        raise  # the operator's setup is wrong: every window would fail the same way
    except Exception as exc:  # any other failure is what the trial measures
        raised = f"{type(exc).__name__}: {exc}"
    problems: tuple[str, ...] = ()
    if result is not None or repo.get_run(run_id) is not None:  # a run that returned stored its row
        problems = check_run(repo, run_id).problems
    cycles = [e.ts for e in events if isinstance(e, CycleClosed)]
    failures = critical_failures(raised, events, problems)
    score = _score(window, run_id, result, cycles, uptime(window.bars, cycles, events), failures)
    if result is not None:
        score = with_vol_matched(score, result)
    if plan.strategy == "trend":
        score = replace(score, trend_total_return=None, trend_sharpe=None, trend_max_drawdown=None)
    elif result is not None:
        score = with_trend(score, settings, window, plan, load)
    return score, result


def trial_bars(settings: Settings, plan: TrialPlan) -> TrialBars | None:
    """The bars of every window read once (engine/trial_data.py), or None when each window must load its own."""
    end = max(w.end for w in plan.windows) + timedelta(microseconds=1)
    return TrialBars.load(Lake(settings.lake_dir), plan.symbols, plan.interval, end)


def window_run_id(plan: TrialPlan, window: Window) -> str:
    """The stored run id of one window: <trial id>-wNNN."""
    return f"{plan.trial_id}-w{window.index:03d}"


@dataclass(frozen=True)
class WindowOutcome:
    """What a window's task hands back: its score and the rows its run stored, or the setup error that aborts."""

    score: WindowScore | None
    stored: StoredRun | None
    config_error: str | None = None


def window_task(shared: tuple[Settings, TrialPlan, TrialBars | None], _params: None, window: Window) -> WindowOutcome:
    """One window as a parallel task (engine.parallel): scored against the worker's own store, whose rows for it
    come back (and leave that store)."""
    settings, plan, bars = shared
    repo = worker_repository()
    run_id = window_run_id(plan, window)

    def stored() -> StoredRun | None:
        return take_run(repo.engine, run_id) if repo.get_run(run_id) is not None else None

    try:
        score, _ = run_window(settings, plan, window, repo, bars=bars)
    except ConfigError as exc:  # re-raised by the parent at this window (after storing what it stored), as sequential
        return WindowOutcome(None, stored(), str(exc))
    except BaseException:
        stored()  # nothing of a failed task stays behind in the worker's store
        raise
    return WindowOutcome(score, stored())


def trend_settings(settings: Settings) -> Settings:
    """The same settings with the SMA trend baseline as the strategy (what `backtest` runs for "trend")."""
    return settings.model_copy(update={"strategy": settings.strategy.model_copy(update={"name": "trend"})})


def with_vol_matched(score: WindowScore, result: RunResult) -> WindowScore:
    """The score with buy-and-hold scaled to the window's realised (ex-post) volatility beside it."""
    ts = result.ts
    ppy = periods_per_year(len(set(ts.tz_convert(NEW_YORK).date)), len(ts))  # sessions: distinct New York dates
    matched = vol_matched(result.benchmark_equity, returns(result.equity))
    eq = matched.equity
    return replace(
        score,
        vm_total_return=float(eq[-1] / eq[0] - 1.0) if eq.size and eq[0] > 0 else math.nan,
        vm_sharpe=sharpe(returns(eq), ppy),
        vm_max_drawdown=max_drawdown(eq),
        vm_fraction=matched.fraction,
    )


def with_trend(
    score: WindowScore,
    settings: Settings,
    window: Window,
    plan: TrialPlan,
    load: Callable[[Lake, RunRequest], tuple[Panel, int]] = load_panel,
) -> WindowScore:
    """The score with the trend baseline over exactly this window beside it (not persisted; NaN if it fails)."""
    request = replace(window.request(plan.symbols, plan.interval, f"{plan.trial_id}-trend"), mode="backtest")
    try:
        m = run(trend_settings(settings), request, persist=False, load=load).metrics
    except Exception:  # the baseline failing is not the strategy's failure; NaN fails the criterion honestly
        log.exception("trend baseline of window %d failed", window.index)
        return replace(score, trend_total_return=math.nan, trend_sharpe=math.nan, trend_max_drawdown=math.nan)
    return replace(score, trend_total_return=m.total_return, trend_sharpe=m.sharpe, trend_max_drawdown=m.max_drawdown)


def _score(
    window: Window,
    run_id: str,
    result: RunResult | None,
    cycles: Sequence[datetime],
    up: float,
    failures: tuple[str, ...],
) -> WindowScore:
    nan = math.nan
    if result is None:
        return WindowScore(
            window.index, run_id, window.start, window.end, window.bars, len(cycles),
            nan, nan, nan, 0, 0.0, nan, nan, nan, up, failures,
        )  # fmt: skip
    m, b = result.metrics, result.benchmark
    return WindowScore(
        index=window.index,
        run_id=run_id,
        start=window.start,
        end=window.end,
        scheduled=window.bars,
        cycles=len(cycles),
        total_return=m.total_return,
        sharpe=m.sharpe,
        max_drawdown=m.max_drawdown,
        trades=m.trades,
        fees_paid=m.fees_paid,
        bench_total_return=b.total_return,
        bench_sharpe=b.sharpe,
        bench_max_drawdown=b.max_drawdown,
        uptime=up,
        failures=failures,
        equity=tuple(float(x) for x in result.equity),
        bench_equity=tuple(float(x) for x in result.benchmark_equity),
    )


@dataclass(frozen=True)
class TrialResult:
    """The plan, every window's score and the summary across windows."""

    plan: TrialPlan
    request: TrialRequest
    scores: tuple[WindowScore, ...]
    summary: TrialSummary
    initial_cash: float

    def to_json(self) -> dict[str, Any]:
        """Stable keys (documented in docs of `papertrader trial`); NaN is null."""
        p = self.plan
        return {
            "trial_id": p.trial_id,
            "strategy": p.strategy,
            "interval": p.interval,
            "symbols": list(p.symbols),
            "days": p.days,
            "initial_cash": self.initial_cash,
            "layout": LAYOUT,
            "windows_requested": "all" if self.request.windows is None else self.request.windows,
            "windows_available": p.available,
            "held_out": p.held_out.to_json(),
            "criteria": self.request.criteria.to_json(),
            "confidence": self.request.confidence,
            "windows": [s.to_json(self.request.criteria) for s in self.scores],
            "summary": self.summary.to_json(),
        }


def open_repository(settings: Settings) -> RunRepository:
    """The run store every window is persisted in."""
    db = make_engine(settings.db_url)
    init_db(db)
    return RunRepository(db)


def run_trial(
    settings: Settings,
    request: TrialRequest,
    clock: Clock,
    *,
    on_plan: Callable[[TrialPlan], None] | None = None,
    on_window: Callable[[WindowScore], None] | None = None,
    on_cycle: Callable[[CycleOutcome], None] | None = None,
    workers: Workers | None = None,
) -> TrialResult:
    """Plan the windows, replay each one as its own persisted run, and summarise honestly over all of them.

    With parallel `workers` each window is a Ray task (`window_task`) and its stored rows are copied into the run
    store here, window by window in order, so the store and the scores equal the sequential path's.
    """
    plan = plan_trial(settings, request, trial_id(clock))
    if on_plan is not None:
        on_plan(plan)
    repo = open_repository(settings)
    bars = trial_bars(settings, plan)
    scores: list[WindowScore] = []
    if workers is not None and workers.parallel:
        for outcome in workers.iterate(window_task, (settings, plan, bars), None, plan.windows):
            if outcome.stored is not None:
                import_run(repo.engine, outcome.stored)
            if outcome.config_error is not None:
                raise ConfigError(outcome.config_error)
            assert outcome.score is not None
            scores.append(outcome.score)
            if on_window is not None:
                on_window(outcome.score)
    else:
        for window in plan.windows:
            score, _ = run_window(settings, plan, window, repo, on_cycle, bars=bars)
            scores.append(score)
            if on_window is not None:
                on_window(score)
    summary = summarize_windows(scores, request.criteria, request.confidence)
    return TrialResult(plan, request, tuple(scores), summary, settings.initial_cash)
