"""Optuna over the trend strategy's (or the board's and its models') and the risk layer's parameters, scored
walk-forward out-of-sample.

Why this shape: a parameter set is judged only on consecutive validation folds it was never chosen on,
each fold a full backtest through `engine.runner.run` (net of costs, the same path `backtest` takes), and
scored against the default trend baseline on the same fold. The last part of the window is a held-out test
that the search never backtests; it is run only on request, once per call, and every look is counted.
Studies live in SQLite under the home folder, so re-running the same study adds trials to it. The board's search
(`--strategy ensemble`: models trained per fold, before it) is engine/hyperopt_board.py's objective in this loop.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from papertrader.config.settings import Settings
from papertrader.core.errors import ConfigError
from papertrader.core.private import private_dir, private_file
from papertrader.data.store import Lake
from papertrader.engine.runner import RunRequest, RunResult, load_panel, run
from papertrader.models.scaleout import run_local

if TYPE_CHECKING:
    import optuna

Runner = Callable[..., RunResult]
Trainer = Callable[..., Any]  # engine.hyperopt_board.train_member's shape, replaceable in tests
Mapper = Callable[..., list[Any]]  # models.scaleout.mapper's shape: map_fn(fn, shared, params, items)
MIN_FOLD_BARS = 20  # a Sharpe over fewer bars is noise


@dataclass(frozen=True)
class Param:
    """One searched parameter: the settings field it sets (section.field), its type and its range."""

    name: str
    kind: Literal["int", "float", "categorical"]
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple[Any, ...] = ()  # the values of a categorical parameter


# slow is searched as a gap above fast, so every sampled pair satisfies strategy.fast < strategy.slow
SPACE: tuple[Param, ...] = (
    Param("strategy.fast", "int", 5, 60),
    Param("strategy.slow_gap", "int", 5, 150),
    Param("strategy.rebalance_band", "float", 0.0, 0.15),
    Param("risk.max_position_fraction", "float", 0.05, 0.5),
    Param("risk.vol_target", "float", 0.10, 0.60),
    Param("risk.stop_atr_mult", "float", 1.0, 5.0),
)


def sample(trial: optuna.Trial, space: Sequence[Param] = SPACE) -> dict[str, Any]:
    """Ask the trial for one value per parameter (Optuna records them as the trial's params)."""
    values: dict[str, Any] = {}
    for p in space:
        if p.kind == "categorical":
            values[p.name] = trial.suggest_categorical(p.name, list(p.choices))
        elif p.kind == "int":
            values[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
        else:
            values[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
    return values


def settings_for(settings: Settings, params: dict[str, Any]) -> Settings:
    """The user's settings with the trial's values, validated (a bad combination is a ConfigError, not a run).

    `board.weight.<member>` sets that member's entry of `board.base_weights` (the others keep theirs).
    """
    sections: dict[str, dict[str, Any]] = {"strategy": {}, "risk": {}, "board": {}}
    for name, value in params.items():
        section, key = name.split(".", 1)
        if section not in sections:
            raise ConfigError(f"hyperopt cannot set {name}: only strategy.*, risk.* and board.* are settings")
        sections[section][key] = value
    gap = sections["strategy"].pop("slow_gap", None)
    if gap is not None:
        sections["strategy"]["slow"] = int(sections["strategy"].get("fast", settings.strategy.fast)) + int(gap)
    weights = {k.split(".", 1)[1]: float(v) for k, v in sections["board"].items() if k.startswith("weight.")}
    board = {k: v for k, v in sections["board"].items() if not k.startswith("weight.")}
    if weights:
        board["base_weights"] = {**settings.board.base_weights, **weights}
    try:
        strategy = type(settings.strategy)(**{**settings.strategy.model_dump(), **sections["strategy"]})
        risk = type(settings.risk)(**{**settings.risk.model_dump(), **sections["risk"]})
        board_settings = type(settings.board)(**{**settings.board.model_dump(), **board})
    except ValueError as exc:
        raise ConfigError(f"hyperopt parameters rejected by the settings: {exc}") from exc
    return settings.model_copy(update={"strategy": strategy, "risk": risk, "board": board_settings})


def baseline_settings(settings: Settings) -> Settings:
    """The trend baseline every trial is scored against: the user's settings with the trend strategy."""
    return settings.model_copy(update={"strategy": settings.strategy.model_copy(update={"name": "trend"})})


@dataclass(frozen=True)
class Window:
    """One backtest window [start, end) (end exclusive, as the runner reads it)."""

    start: datetime
    end: datetime

    def to_json(self) -> dict[str, str]:
        """ISO bounds for --json."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass(frozen=True)
class Plan:
    """The validation folds the search scores on and the held-out test it never sees."""

    folds: tuple[Window, ...]
    test: Window | None


def plan_folds(
    settings: Settings,
    symbols: tuple[str, ...],
    start: datetime | None,
    end: datetime | None,
    folds: int,
    test_fraction: float,
) -> Plan:
    """Split the window's bars into K consecutive equal validation folds and a final held-out test."""
    if folds < 1:
        raise ConfigError("--folds must be at least 1")
    if not 0.0 <= test_fraction < 1.0:
        raise ConfigError("--test-fraction must be in [0, 1)")
    panel, first = load_panel(Lake(settings.lake_dir), RunRequest(symbols=symbols, start=start, end=end))
    ts = panel.ts[first:]
    n_test = int(len(ts) * test_fraction)
    n_valid = len(ts) - n_test
    size = n_valid // folds
    if size < MIN_FOLD_BARS:
        raise ConfigError(
            f"{n_valid} validation bars make folds of {size} bars; each fold needs at least {MIN_FOLD_BARS}: "
            "widen the window or use fewer --folds"
        )
    bounds = [i * size for i in range(folds)] + [n_valid]
    after_last = ts[-1].to_pydatetime() + timedelta(microseconds=1)

    def at(i: int) -> datetime:
        return ts[i].to_pydatetime() if i < len(ts) else after_last

    windows = tuple(Window(at(a), at(b)) for a, b in itertools.pairwise(bounds))
    test = Window(at(n_valid), end if end is not None else after_last) if n_test > 0 else None
    return Plan(windows, test)


@dataclass(frozen=True)
class Setup:
    """Everything that fixes a study's folds; a resumed study must match it or its scores are not comparable."""

    symbols: tuple[str, ...]
    start: str | None
    end: str | None
    folds: int
    test_fraction: float
    strategy: str
    small: bool | None = None  # the board's model sizes (ensemble only: None for the trend strategy)

    def to_json(self) -> dict[str, Any]:
        """Plain values stored as the study's user attribute (a trend study's keys as before the board search)."""
        out = {**self.__dict__, "symbols": list(self.symbols)}
        if self.small is None:
            out.pop("small")
        return out

    def default_name(self) -> str:
        """A study name that changes whenever the folds would."""
        digest = hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()[:10]
        return f"hyperopt-{digest}"


def _sharpe(result: RunResult) -> float:
    value = float(result.metrics.sharpe)
    return value if math.isfinite(value) else 0.0


@dataclass
class Objective:
    """Mean over folds of (trial Sharpe - baseline Sharpe), net of costs; per-fold numbers become user attrs."""

    settings: Settings
    symbols: tuple[str, ...]
    plan: Plan
    runner: Runner = run
    space: Sequence[Param] = SPACE
    _baseline: list[float] | None = field(default=None, init=False)

    def fold_sharpes(self, settings: Settings) -> list[float]:
        """Each validation fold's Sharpe of one settings, through the project's one runner, nothing persisted."""
        return [
            _sharpe(self.runner(settings, RunRequest(symbols=self.symbols, start=w.start, end=w.end), persist=False))
            for w in self.plan.folds
        ]

    def baseline(self) -> list[float]:
        """The default trend baseline's Sharpe per fold, computed once."""
        if self._baseline is None:
            self._baseline = self.fold_sharpes(baseline_settings(self.settings))
        return self._baseline

    def evaluate(self, params: dict[str, Any]) -> Scored:
        """One parameter set's Sharpe on every fold (and what else the trial records)."""
        return Scored(self.fold_sharpes(settings_for(self.settings, params)))

    def test_run(self, params: dict[str, Any], window: Window) -> RunResult:
        """One parameter set backtested on the held-out test window (only `final_test` calls it)."""
        request = RunRequest(symbols=self.symbols, start=window.start, end=window.end)
        return self.runner(settings_for(self.settings, params), request, persist=False)

    def __call__(self, trial: optuna.Trial) -> float:
        """Score one trial and record its fold-by-fold numbers on it."""
        params = sample(trial, self.space)
        return self.record(trial, self.evaluate(params))

    def record(self, trial: optuna.Trial, scored: Scored) -> float:
        """The trial's score from its fold Sharpes, with the per-fold numbers stored on it."""
        sharpes = scored.sharpes
        base = self.baseline()
        excess = [s - b for s, b in zip(sharpes, base, strict=True)]
        trial.set_user_attr("fold_sharpe", sharpes)
        trial.set_user_attr("fold_excess", excess)
        trial.set_user_attr("baseline_sharpe", base)
        for key, value in scored.attrs.items():
            trial.set_user_attr(key, value)
        return statistics.fmean(excess)


@dataclass(frozen=True)
class Scored:
    """One trial's Sharpe per fold, plus what else it stores on the Optuna trial (the board's voting members)."""

    sharpes: list[float]
    attrs: dict[str, Any] = field(default_factory=dict)


def fold_sharpes_of(objective: Objective, _: None, params: dict[str, Any]) -> Scored:
    """One trial's fold Sharpes as a unit of work for models.scaleout (here or as a Ray task)."""
    return objective.evaluate(params)


def run_trials(
    study: optuna.Study,
    objective: Objective,
    trials: int,
    batch: int,
    map_fn: Mapper,
    on_trial: Callable[[int], None] | None = None,
) -> bool:
    """Ask `batch` trials at a time, score them through `map_fn`, tell the study; True when Ctrl-C ended it.

    A fixed batch keeps the trials deterministic: the sampler sees the same finished history at every ask.
    """
    import optuna

    added = 0
    pending: list[optuna.Trial] = []
    try:
        while added < trials:
            pending = [study.ask() for _ in range(min(batch, trials - added))]
            params = [sample(t, objective.space) for t in pending]
            results = map_fn(fold_sharpes_of, objective, None, params)
            for trial, scored in zip(list(pending), results, strict=True):
                study.tell(trial, objective.record(trial, scored))
                pending.remove(trial)
                added += 1
                if on_trial is not None:
                    on_trial(trial.number)
    except BaseException as exc:
        for trial in pending:  # never leave a trial RUNNING in the stored study
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        if isinstance(exc, KeyboardInterrupt):  # Ctrl-C ends the search; finished trials are stored and reported
            return True
        raise
    return False


def storage_url(settings: Settings) -> str:
    """Where studies persist: one SQLite file under the home folder, separate from the run ledger."""
    return f"sqlite:///{settings.home / 'hyperopt.db'}"


def open_study(settings: Settings, name: str, setup: Setup, seed: int) -> optuna.Study:
    """Create or reopen the study; a reopened study must have been made with the same folds."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    private_file(private_dir(settings.home) / "hyperopt.db")  # owner-only like the ledger: it holds the settings
    storage = optuna.storages.RDBStorage(storage_url(settings))
    try:
        existing = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        existing = None
    done = len(existing.trials) if existing is not None else 0
    # a resumed study's sampler continues from a new seed: re-seeding with the first one would repeat its trials
    sampler = optuna.samplers.TPESampler(seed=seed + done)
    study = optuna.create_study(
        study_name=name, storage=storage, sampler=sampler, direction="maximize", load_if_exists=True
    )
    stored = study.user_attrs.get("setup")
    if stored is None:
        study.set_user_attr("setup", setup.to_json())
    elif stored != setup.to_json():
        raise ConfigError(
            f"study {name} was made with {stored}; this call asks for {setup.to_json()}. "
            "Its scores would not be comparable: pick another --study"
        )
    return study


@dataclass(frozen=True)
class TrialRow:
    """One finished trial as the report shows it."""

    number: int
    params: dict[str, Any]
    score: float
    fold_excess: tuple[float, ...]
    fold_sharpe: tuple[float, ...]

    @property
    def spread(self) -> float:
        """Standard deviation of the fold excess Sharpes (0 with one fold)."""
        return statistics.stdev(self.fold_excess) if len(self.fold_excess) > 1 else 0.0

    @property
    def worst(self) -> float:
        """The worst fold's excess Sharpe."""
        return min(self.fold_excess)

    def to_json(self) -> dict[str, Any]:
        """Stable keys for --json."""
        return {
            "number": self.number,
            "params": self.params,
            "score": self.score,
            "fold_excess_sharpe": list(self.fold_excess),
            "fold_sharpe": list(self.fold_sharpe),
            "std": self.spread,
            "min": self.worst,
        }


def best_trials(study: optuna.Study, top: int) -> list[TrialRow]:
    """The finished trials, best mean score first."""
    import optuna

    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None]
    done.sort(key=lambda t: (-float(t.value or 0.0), t.number))
    return [
        TrialRow(
            t.number,
            public_params(t.params),
            float(t.value or 0.0),
            tuple(t.user_attrs.get("fold_excess", ())),
            tuple(t.user_attrs.get("fold_sharpe", ())),
        )
        for t in done[:top]
    ]


def public_params(params: dict[str, Any]) -> dict[str, Any]:
    """The trial's values as settings fields (slow instead of the searched gap), for the table and --json."""
    out = {k: v for k, v in params.items() if k != "strategy.slow_gap"}
    if "strategy.slow_gap" in params:
        out["strategy.slow"] = int(params.get("strategy.fast", 0)) + int(params["strategy.slow_gap"])
    return out


@dataclass(frozen=True)
class Outcome:
    """What one `hyperopt` call did and found."""

    study: str
    storage: str
    setup: Setup
    plan: Plan
    trials_total: int
    trials_added: int
    baseline_sharpe: tuple[float, ...]
    best: tuple[TrialRow, ...]
    final_test: dict[str, Any] | None
    interrupted: bool = False
    board: dict[str, Any] | None = None  # ensemble only: trials with voting model members (board_summary)

    def to_json(self) -> dict[str, Any]:
        """Stable keys for --json files and scripts."""
        return {
            "study": self.study,
            "storage": self.storage,
            "setup": self.setup.to_json(),
            "folds": [w.to_json() for w in self.plan.folds],
            "test_window": self.plan.test.to_json() if self.plan.test is not None else None,
            "trials_total": self.trials_total,
            "trials_added": self.trials_added,
            "score": "mean over folds of (Sharpe - default trend baseline Sharpe), net of costs",
            "baseline": {"fold_sharpe": list(self.baseline_sharpe)},
            "best": [row.to_json() for row in self.best],
            "final_test": self.final_test,
            "interrupted": self.interrupted,
            "caveat": caveat(self.trials_total),
            **({"board": self.board} if self.board is not None else {}),
        }


def caveat(trials: int) -> str:
    """The selection-bias sentence every report carries."""
    return (
        f"the best of {trials} trials is chosen on these folds, so its score is biased upward (best-of-{trials} "
        "selection); read the fold spread and the worst fold, and trust only the held-out test"
    )


def final_test(
    study: optuna.Study, objective: Objective, row: TrialRow, params: dict[str, Any], runner: Runner = run
) -> dict[str, Any]:
    """Backtest the best trial and the baseline once on the held-out test; count the look on the study."""
    test = objective.plan.test
    if test is None:
        raise ConfigError("no held-out test window: --test-fraction is 0")
    request = RunRequest(symbols=objective.symbols, start=test.start, end=test.end)
    best = objective.test_run(params, test)
    base = runner(baseline_settings(objective.settings), request, persist=False)
    looks = int(study.user_attrs.get("test_looks", 0)) + 1
    study.set_user_attr("test_looks", looks)
    return {
        "trial": row.number,
        "window": test.to_json(),
        "sharpe": _sharpe(best),
        "baseline_sharpe": _sharpe(base),
        "excess_sharpe": _sharpe(best) - _sharpe(base),
        "total_return": float(best.metrics.total_return),
        "max_drawdown": float(best.metrics.max_drawdown),
        "looks": looks,
    }


def search(
    settings: Settings,
    symbols: tuple[str, ...],
    start: datetime | None,
    end: datetime | None,
    *,
    trials: int,
    folds: int,
    test_fraction: float = 0.2,
    study_name: str | None = None,
    seed: int = 0,
    top: int = 5,
    with_test: bool = False,
    runner: Runner = run,
    on_trial: Callable[[int], None] | None = None,
    batch: int = 1,
    map_fn: Mapper | None = None,
    small: bool = False,
    trainer: Trainer | None = None,
) -> Outcome:
    """Add `trials` trials to the study (`batch` at a time through `map_fn`: here, or Ray) and report its best.

    `settings.strategy.name` picks the space: "trend" (strategy and risk parameters) or "ensemble" (the board's
    parameters, risk, and each model member's hyper-parameters, models trained per fold: engine/hyperopt_board.py,
    `small` for the CI model sizes; `trainer` replaces the training call, for tests).
    """
    if trials < 0:
        raise ConfigError("--trials must be at least 0")
    if batch < 1:
        raise ConfigError("--workers must be at least 1")
    strategy_name = settings.strategy.name
    if strategy_name not in ("trend", "ensemble"):
        raise ConfigError(
            f"hyperopt searches the trend strategy or the board (ensemble); strategy.name is {strategy_name!r}. "
            "Use --strategy trend or --strategy ensemble"
        )
    plan = plan_folds(settings, symbols, start, end, folds, test_fraction)
    setup = Setup(
        symbols=symbols,
        start=start.isoformat() if start else None,
        end=end.isoformat() if end else None,
        folds=folds,
        test_fraction=test_fraction,
        strategy=strategy_name,
        small=small if strategy_name == "ensemble" else None,
    )
    objective: Objective
    if strategy_name == "ensemble":
        from papertrader.engine.hyperopt_board import board_objective

        objective = board_objective(settings, symbols, plan, runner, small=small, trainer=trainer)
    else:
        objective = Objective(settings, symbols, plan, runner)
    name = study_name or setup.default_name()
    study = open_study(settings, name, setup, seed)
    before = len(study.trials)
    interrupted = run_trials(study, objective, trials, batch, map_fn or run_local, on_trial)
    rows = best_trials(study, top)
    board = board_summary(study) if strategy_name == "ensemble" else None
    tested = None
    if with_test and rows and not interrupted:
        best_params = next(t.params for t in study.trials if t.number == rows[0].number)
        tested = final_test(study, objective, rows[0], best_params, runner)
    return Outcome(
        study=name,
        storage=storage_url(settings),
        setup=setup,
        plan=plan,
        trials_total=len(study.trials),
        trials_added=len(study.trials) - before,
        baseline_sharpe=tuple(objective.baseline()),
        best=tuple(rows),
        final_test=tested,
        interrupted=interrupted,
        board=board,
    )


def board_summary(study: optuna.Study) -> dict[str, Any]:
    """How many finished board trials had model members voting (quality gate passed) on every fold, and per member."""
    import optuna

    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    voting = [t.user_attrs.get("voting", []) for t in done]
    members = sorted({m for folds in voting for fold in folds for m in fold})
    return {
        "trials": len(done),
        "trials_with_voting_models": sum(1 for folds in voting if folds and all(folds)),
        "trials_with_any_voting_model": sum(1 for folds in voting if any(folds)),
        "member_voted_in_trials": {m: sum(1 for folds in voting if any(m in f for f in folds)) for m in members},
        "note": "a model member votes in a fold only when its version, trained before that fold, passed the "
        "quality gate; otherwise the board trades the members that did",
    }


__all__ = ["SPACE", "Objective", "Outcome", "Param", "Plan", "Scored", "search", "settings_for"]
