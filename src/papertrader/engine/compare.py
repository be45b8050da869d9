"""`compare`'s computation: whether the board beats its members and the baselines, over one out-of-sample window.

The same window runs as the ensemble, as each member alone (a one-member board: same calibration, weighting and
Kelly inputs) and as the trend baseline, all net of costs through `engine.runner.run` (the path `backtest` takes,
each run assembled by engine/kernel.py, so a row equals that backtest), beside buy-and-hold and buy-and-hold
scaled to the board's realised volatility (portfolio.inference). It refuses a window that starts inside any used
model's data (models.holdout). Every row has a Sharpe interval; model members carry their quality-gate record;
the board's Sharpe difference to the trend baseline and to vol-matched buy-and-hold comes with a paired bootstrap
test. The CLI (`papertrader compare`, the demo) only shows the rows; `compare_table` is their stable JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from papertrader.config.settings import Settings
from papertrader.core.lazy import deferred

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from papertrader.core.errors import PapertraderError
    from papertrader.engine.parallel import Workers
    from papertrader.engine.runner import RunRequest, RunResult
    from papertrader.models.registry import Manifest
    from papertrader.persistence.repository import RunRepository
    from papertrader.persistence.transfer import StoredRun
    from papertrader.portfolio import inference
    from papertrader.portfolio import metrics as pmetrics
    from papertrader.portfolio.inference import SharpeDifference, SharpeInterval
else:  # imported on first use: the CLI imports this module, and `papertrader --help` never pays for them
    np, pd = deferred("numpy"), deferred("pandas")
    inference, pmetrics = deferred("papertrader.portfolio.inference"), deferred("papertrader.portfolio.metrics")


class CompareProgress(Protocol):
    """What a progress display hears while the rows run (the CLI draws a bar from it)."""

    def row(self, label: str) -> None:
        """A row (strategy) starts running."""
        ...

    def total(self, cycles: int) -> None:
        """Every row's cycles together, known once the board's run said who its members are."""
        ...

    def advance(self) -> None:
        """One cycle of the current row ran."""
        ...


BUY_AND_HOLD = "buy_and_hold"
VOL_MATCHED = "buy_and_hold_vol_matched"
TREND_BASELINE = "trend_baseline"
BOARD = "ensemble"
BOARD_PER_SYMBOL = "ensemble_per_symbol"  # the same board sized symbol by symbol (risk.construction = none)
#: the baselines the board's Sharpe is tested against (paired, same dates)
PAIRED_AGAINST: tuple[str, ...] = (TREND_BASELINE, VOL_MATCHED)


@dataclass(frozen=True)
class Line:
    """One strategy's result over the comparison window (run_id: the stored run, when compare persisted it).

    `sharpe_ci` is the row's Sharpe with its interval; `note` says when the kill switch halted the run; `gate`
    is a model member's quality-gate record (None for versions without one; absent for other rows, `has_gate`
    False); `paired` holds the board's Sharpe difference to each baseline in PAIRED_AGAINST.
    """

    name: str
    equity: np.ndarray[Any, np.dtype[np.float64]]
    metrics: dict[str, Any]
    run_id: str | None = None
    sharpe_ci: SharpeInterval | None = None
    note: str | None = None
    has_gate: bool = False
    gate: dict[str, Any] | None = None
    paired: tuple[tuple[str, SharpeDifference], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def board_settings(settings: Settings, members: Sequence[str]) -> Settings:
    """The settings `backtest` would run the board of `members` with (one member: that member alone)."""
    strategy = settings.strategy.model_copy(update={"name": "ensemble"})
    board = settings.board.model_copy(update={"members": tuple(members)})
    return settings.model_copy(update={"strategy": strategy, "board": board})


def baseline_settings(settings: Settings) -> Settings:
    """The settings `backtest` would run the moving-average baseline (TrendFollowing) with."""
    return settings.model_copy(update={"strategy": settings.strategy.model_copy(update={"name": "trend"})})


@dataclass
class _Seen:
    """What the board's run was built with: its members (advisors only when admitted) and its calibration."""

    members: tuple[str, ...] = ()
    calibration: Any = None


def halt_note(extra: dict[str, Any]) -> str | None:
    """A sentence when the kill switch halted a run (from RunResult.extra), else None."""
    kill = extra.get("kill_switch") or {}
    if not kill.get("fired"):
        return None
    drawdown, limit = kill.get("drawdown"), kill.get("limit")
    at = f" at drawdown {float(drawdown):.2%}" if drawdown is not None else ""
    return f"halted by the kill switch{at} (limit {float(limit):.2%}); flat afterwards" if limit else "halted"


def gate_record(manifest: Manifest) -> dict[str, Any] | None:
    """A model version's quality-gate dict (models.gate), or None for versions trained before the gate."""
    from papertrader.models.gate import gate_of

    gate = gate_of(dict(manifest.metrics or {}))
    return None if gate is None else gate.to_dict()


def with_statistics(lines: Sequence[Line], ppy: float, confidence: float = 0.95) -> list[Line]:
    """Each row with its Sharpe interval, and the board's row with its paired tests against the baselines."""
    rets = {line.name: pmetrics.returns(line.equity) for line in lines}
    out: list[Line] = []
    for line in lines:
        paired: tuple[tuple[str, SharpeDifference], ...] = ()
        if line.name == BOARD:
            paired = tuple(
                (other, inference.sharpe_difference(rets[BOARD], rets[other], ppy, confidence))
                for other in PAIRED_AGAINST
                if other in rets and rets[other].shape == rets[BOARD].shape
            )
        out.append(replace(line, sharpe_ci=inference.sharpe_interval(rets[line.name], ppy, confidence), paired=paired))
    return out


def vol_matched_line(board: Any, invested: np.ndarray[Any, np.dtype[np.float64]], ppy: float) -> Line:
    """Buy-and-hold scaled to the board's realised (ex-post) volatility: a reference row, not a strategy."""
    matched = inference.vol_matched(board.benchmark_equity, pmetrics.returns(board.equity))
    bench = np.asarray(board.benchmark_equity, dtype=np.float64)
    share = np.divide(invested, bench, out=np.zeros_like(bench), where=bench > 0)
    gross = matched.fraction * share * matched.equity
    metrics = pmetrics.summarize(matched.equity, gross, (), ppy).as_dict()
    return Line(VOL_MATCHED, matched.equity, metrics, extra={"vol_matching": matched.to_json()})


@dataclass(frozen=True)
class Calibrated:
    """The board's calibration window and method, as the comparison reports it (sent back from a task)."""

    start: Any
    end: Any
    method: Any


@dataclass(frozen=True)
class RowJob:
    """One comparison row as a parallel task: its label and the settings `backtest` would run it with."""

    label: str
    settings: Settings
    capture: bool = False


@dataclass(frozen=True)
class RowOutcome:
    """What a row's task hands back: the run's result, the rows it stored (--persist) and, for the board, its
    members and calibration; or the papertrader error that stops the comparison, as the sequential path raises it."""

    result: RunResult | None
    stored: StoredRun | None = None
    members: tuple[str, ...] = ()
    calibration: Calibrated | None = None
    error: PapertraderError | None = None


def row_task(shared: tuple[RunRequest, bool], _params: None, job: RowJob) -> RowOutcome:
    """One row through `engine.runner.run` (a private run store when persisted: engine.parallel), for Ray."""
    from papertrader.core.errors import PapertraderError
    from papertrader.engine.cycle import Engine
    from papertrader.engine.parallel import private_repository
    from papertrader.engine.runner import run
    from papertrader.persistence.transfer import export_run

    request, persist = shared
    repo = private_repository() if persist else None
    seen = _Seen()

    def on_engine(engine: Engine, _total: int) -> None:
        seen.members = tuple(m.name for m in getattr(engine.strategy, "members", ()))
        seen.calibration = getattr(engine.strategy, "calibration", None)

    try:
        result = run(job.settings, request, on_engine=on_engine if job.capture else None, persist=persist, repo=repo)
    except PapertraderError as exc:  # what the failed run stored comes back too, as the sequential path keeps it
        runs = repo.list_runs() if repo is not None else []
        return RowOutcome(None, export_run(repo.engine, runs[0].id) if repo is not None and runs else None, error=exc)
    cal = seen.calibration
    return RowOutcome(
        result,
        export_run(repo.engine, result.run_id) if repo is not None else None,
        seen.members,
        None if cal is None else Calibrated(cal.start, cal.end, cal.method),
    )


def _parallel_rows(
    settings: Settings,
    names: tuple[str, ...],
    request: RunRequest,
    workers: Workers,
    persist: bool,
    progress: CompareProgress | None,
    cycles: int,
) -> tuple[list[tuple[str, RunResult]], _Seen]:
    """Every row as a Ray task (the board first: its members name the member rows), stored in sequential order."""
    from papertrader.engine.parallel import store_of

    per_symbol = settings.risk.construction != "none"
    first_jobs = [RowJob(BOARD, board_settings(settings, names), capture=True)]
    if per_symbol:
        flat = settings.model_copy(update={"risk": settings.risk.model_copy(update={"construction": "none"})})
        first_jobs.append(RowJob(BOARD_PER_SYMBOL, board_settings(flat, names)))
    first_jobs.append(RowJob(TREND_BASELINE, baseline_settings(settings)))
    shared = (request, persist)
    if progress is not None:
        progress.row(f"{BOARD} ({workers.describe()})")
    repo = store_of(settings) if persist else None
    first = workers.iterate(row_task, shared, None, first_jobs)
    board = next(first)
    if board.error is not None:
        _store(repo, board)
        raise board.error
    seen = _Seen(board.members, board.calibration)
    member_jobs = [RowJob(m, board_settings(settings, (m,))) for m in seen.members]
    later = workers.iterate(row_task, shared, None, member_jobs)  # submitted now, beside the first rows still running
    if progress is not None:
        progress.total(cycles * (len(seen.members) + 2 + per_symbol))
    outcomes = {BOARD: board}
    for job, outcome in [
        (first_jobs[0], board),
        *zip(first_jobs[1:], first, strict=True),
        *zip(member_jobs, later, strict=True),
    ]:
        outcomes[job.label] = outcome
        if progress is not None:  # a row's cycles count when the row comes back
            progress.row(f"{job.label} done ({workers.describe()})")
            for _ in range(cycles):
                progress.advance()
    order = [BOARD, *([BOARD_PER_SYMBOL] if per_symbol else []), *seen.members, TREND_BASELINE]
    rows: list[tuple[str, RunResult]] = []
    for label in order:  # stored in the order the sequential path writes them; it stops at the first error
        outcome = outcomes[label]
        _store(repo, outcome)
        if outcome.error is not None:
            raise outcome.error
        assert outcome.result is not None
        rows.append((label, outcome.result))
    return rows, seen


def _store(repo: RunRepository | None, outcome: RowOutcome) -> None:
    from papertrader.persistence.transfer import import_run

    if repo is not None and outcome.stored is not None:
        import_run(repo.engine, outcome.stored)


def run_compare(
    settings: Settings,
    symbols: tuple[str, ...],
    start: datetime | None,
    end: datetime | None,
    members: Sequence[str] | None = None,
    progress: CompareProgress | None = None,
    persist: bool = False,
    workers: Workers | None = None,
) -> tuple[pd.DatetimeIndex, list[Line], dict[str, Any]]:
    """The ensemble, each member alone, the trend baseline, buy-and-hold and vol-matched buy-and-hold.

    Every strategy goes through `engine.runner.run`, the path `backtest` takes (each run assembled by
    engine/kernel.py), so each row equals the backtest of the same settings and window (a member alone is a
    one-member board: same calibration, weighting, Kelly). A window that starts inside any used model's data
    (models.holdout) is refused before anything runs. With parallel `workers` (engine.parallel) the rows run as
    Ray tasks (`row_task`) and come out the same; persisted rows are stored in the sequential order.
    """
    from papertrader.data.store import Lake
    from papertrader.engine import strategies
    from papertrader.engine.benchmark import buy_and_hold
    from papertrader.engine.cycle import CycleOutcome, Engine
    from papertrader.engine.runner import RunRequest, load_panel, run
    from papertrader.models.holdout import sample_bounds
    from papertrader.models.registry import Registry

    names = tuple(members or settings.board.members)
    request = RunRequest(symbols=symbols, start=start, end=end, mode="backtest")
    panel, first = load_panel(Lake(settings.lake_dir), request)
    registry = Registry(settings.home)
    manifests = {m: strategies.manifest_for(registry, m) for m in names if m in strategies.FAMILY}
    strategies.check_out_of_sample(manifests, panel.ts[first], panel.ts, panel.interval)
    bounds = sample_bounds(manifests, panel.ts, panel.interval)
    cycles = len(panel) - first
    seen = _Seen()

    def on_engine(engine: Engine, _total: int) -> None:
        strategy = engine.strategy
        seen.members = tuple(m.name for m in getattr(strategy, "members", ()))
        seen.calibration = getattr(strategy, "calibration", None)

    def one(label: str, run_settings: Settings, capture: bool = False) -> RunResult:
        if progress is not None:
            progress.row(label)

        def advance(_outcome: CycleOutcome) -> None:
            if progress is not None:
                progress.advance()

        return run(
            run_settings,
            request,
            on_cycle=advance,
            on_engine=on_engine if capture else None,
            persist=persist,
        )

    def line(name: str, result: RunResult) -> Line:
        gated = name in strategies.FAMILY
        gate = gate_record(manifests.get(name) or strategies.manifest_for(registry, name)) if gated else None
        run_id = result.run_id if persist else None
        return Line(name, result.equity, result.metrics.as_dict(), run_id, None, halt_note(result.extra), gated, gate)

    if workers is not None and workers.parallel:
        ran, seen = _parallel_rows(settings, names, request, workers, persist, progress, cycles)
        board = ran[0][1]
        lines = [line(name, result) for name, result in ran]
    else:
        board = one(BOARD, board_settings(settings, names), capture=True)
        if progress is not None:
            progress.total(cycles * (len(seen.members) + 2 + (settings.risk.construction != "none")))
        lines = [line(BOARD, board)]
        if settings.risk.construction != "none":  # what portfolio construction adds over per-symbol sizing
            per_symbol = settings.model_copy(update={"risk": settings.risk.model_copy(update={"construction": "none"})})
            lines.append(line(BOARD_PER_SYMBOL, one(BOARD_PER_SYMBOL, board_settings(per_symbol, names))))
        for member in seen.members:
            lines.append(line(member, one(member, board_settings(settings, (member,)))))
        lines.append(line(TREND_BASELINE, one(TREND_BASELINE, baseline_settings(settings))))
    lines.append(Line(BUY_AND_HOLD, board.benchmark_equity, board.benchmark.as_dict()))
    ts = board.ts
    ppy = pmetrics.periods_per_year(int(ts.tz_convert("America/New_York").normalize().nunique()), len(ts))
    _, invested = buy_and_hold(panel, settings.initial_cash, settings.costs, first)
    lines.append(vol_matched_line(board, np.asarray(invested[: len(ts)], dtype=np.float64), ppy))
    lines = with_statistics(lines, ppy)
    cal = seen.calibration
    info = {
        "models": {m: {"version": man.version, "training_window": man.training_window} for m, man in manifests.items()},
        "out_of_sample": {
            b.member: {
                "version": b.version,
                "data_end": None if b.data_end is None else b.data_end.isoformat(),
                "training_end": b.training_end.isoformat(),
                "embargo_bars": b.embargo,
                "last_seen": b.last_seen.isoformat(),
                "earliest_start": None if b.earliest is None else b.earliest.isoformat(),
            }
            for b in bounds
        },
        "calibration": None if cal is None else {"start": cal.start, "end": cal.end, "method": cal.method},
        "runs": {line.name: line.run_id for line in lines if line.run_id is not None},
        "periods_per_year": ppy,
        "vol_matching": next(x.extra["vol_matching"] for x in lines if x.name == VOL_MATCHED),
        "paired_tests": paired_tests(lines),
    }
    return ts, lines, info


def paired_tests(lines: Sequence[Line]) -> list[dict[str, Any]]:
    """The board's Sharpe minus each baseline's, with interval and p-value (stable keys for JSON)."""
    return [{"a": line.name, "b": other, **diff.to_json()} for line in lines for other, diff in line.paired]


def _r(x: Any, digits: int) -> float | None:
    value = float(x)
    return round(value, digits) if math.isfinite(value) else None


def compare_table(lines: Sequence[Line]) -> list[dict[str, Any]]:
    """One row per strategy with the numbers a comparison is read by (stable keys for JSON; NaN is null)."""
    rows: list[dict[str, Any]] = []
    for line in lines:
        ci = line.sharpe_ci
        row: dict[str, Any] = {
            "name": line.name,
            "total_return": _r(line.metrics["total_return"], 4),
            "sharpe": _r(line.metrics["sharpe"], 3),
            "sharpe_low": None if ci is None else _r(ci.low, 3),
            "sharpe_high": None if ci is None else _r(ci.high, 3),
            "max_drawdown": _r(line.metrics["max_drawdown"], 4),
            "exposure": _r(line.metrics["exposure"], 4),
            "trades": int(line.metrics["trades"]),
            "fees": _r(line.metrics["fees_paid"], 2),
            "note": line.note,
        }
        if line.has_gate:
            row["gate"] = line.gate
        if line.paired:
            row["paired_tests"] = {other: diff.to_json() for other, diff in line.paired}
        rows.append(row)
    return rows


def with_strategy_row(
    lines: list[Line],
    settings: Settings,
    spec: str,
    request_args: tuple[tuple[str, ...], datetime | None, datetime | None],
    ppy: float,
    persist: bool,
) -> list[Line]:
    """The comparison rows with the plug-in strategy's backtest over the same window, before the trend baseline."""
    from papertrader.engine.plugins import with_strategy
    from papertrader.engine.runner import RunRequest, run

    symbols, start, end = request_args
    request = RunRequest(symbols=symbols, start=start, end=end, mode="backtest")
    result = run(with_strategy(settings, spec), request, persist=persist)
    run_id = result.run_id if persist else None
    row = Line(spec, result.equity, result.metrics.as_dict(), run_id, None, halt_note(result.extra))
    [row] = with_statistics([row], ppy)
    at = next((i for i, line in enumerate(lines) if line.name == TREND_BASELINE), len(lines))
    return [*lines[:at], row, *lines[at:]]
