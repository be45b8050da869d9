"""The board's, the risk layer's and the models' parameters for `papertrader hyperopt --strategy ensemble`.

Why this shape: a board trial is out of sample only if every model it polls was trained on bars before the fold
it is scored on, and the board was calibrated on bars after the models' data and before the fold. For each fold
the models train on the bars before `models.holdout.calibration_holdback` of the bars before the fold (the bound
`train --until` and the board's calibration window share), so the last `board.calibration_bars` (plus margin)
bars before the fold are seen by no model and the board calibrates there; the kernel still refuses a run whose
models' data (label embargo included) reaches its first cycle. Trained models are cached per (fold, member,
model parameters) in a registry under `$PAPERTRADER_HOME/hyperopt/models/`, so a trial that changes only board or
risk parameters, or picks model values already trained for that fold, trains nothing. A member whose version
fails the quality gate is polled without a vote, as on the live board, and each trial records who voted.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from papertrader.config.settings import Settings
from papertrader.core.errors import ConfigError
from papertrader.core.private import private_dir
from papertrader.data.store import Lake
from papertrader.engine.hyperopt import SPACE, Objective, Param, Plan, Runner, Scored, Trainer, Window, settings_for
from papertrader.engine.runner import RunRequest, RunResult, load_panel
from papertrader.models.holdout import calibration_holdback
from papertrader.models.registry import MEMBER_FAMILY, Registry
from papertrader.models.tuning import board_model_space

if TYPE_CHECKING:
    from papertrader.features.inputs import External

#: the board members that are trained models (their hyper-parameters are searched, their versions gated)
MODEL_MEMBERS: Final = ("lstm", "gru", "ppo", "lgbm")
#: the board's own knobs (config.board), searched beside each member's base weight and the risk parameters
BOARD_PARAMS: Final = (
    Param("board.min_edge", "float", 0.0, 0.2),
    Param("board.alignment_boost", "float", 0.0, 0.5),
    Param("board.conflict_penalty", "float", 0.0, 1.0),
    Param("board.conflict_policy", "categorical", choices=("reduce", "hold")),
)


def searched_members(settings: Settings) -> tuple[str, ...]:
    """The board members whose weights are searched: the model members and the trend member of board.members."""
    return tuple(m for m in settings.board.members if m in MODEL_MEMBERS or m == "trend")


def board_space(settings: Settings, small: bool) -> tuple[Param, ...]:
    """Board knobs, a base weight per member, the risk parameters, and each model member's hyper-parameters."""
    members = searched_members(settings)
    weights = tuple(Param(f"board.weight.{m}", "float", 0.0, 2.0) for m in members)
    risk = tuple(p for p in SPACE if p.name.startswith("risk."))
    models = tuple(
        Param(f"model.{m}.{name}", "categorical", choices=choices)
        for m in members
        if m in MODEL_MEMBERS
        for name, choices in board_model_space(m, small).items()
    )
    return (*BOARD_PARAMS, *weights, *risk, *models)


def split_params(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A trial's values as (settings fields, member -> model hyper-parameters)."""
    settings_params = {k: v for k, v in params.items() if not k.startswith("model.")}
    models: dict[str, dict[str, Any]] = {}
    for key, value in params.items():
        if key.startswith("model."):
            _, member, name = key.split(".", 2)
            models.setdefault(member, {})[name] = value
    return settings_params, models


@dataclass(frozen=True)
class FoldModels:
    """The models one fold runs: the registry home holding them, the pinned versions, and who passed the gate."""

    home: Path
    versions: tuple[tuple[str, str], ...]
    voting: tuple[str, ...]


def cutoff_before(settings: Settings, symbols: tuple[str, ...], start: datetime) -> datetime:
    """Where models of a window stop seeing bars: the calibration bars (+ margin) before `start` stay unseen."""
    panel, _ = load_panel(Lake(settings.lake_dir), RunRequest(symbols=symbols, end=start))
    before = panel.ts[panel.ts < pd.Timestamp(start)]
    cut = calibration_holdback(before, settings.board.calibration_bars)
    if cut is None:
        raise ConfigError(
            f"only {len(before)} bars before {start:%Y-%m-%d}: too few to train the models and then calibrate the "
            f"board on the last {settings.board.calibration_bars} of them (board.calibration_bars); start the "
            "window later, use fewer --folds, or lower board.calibration_bars"
        )
    return cut.to_pydatetime()


def _train(bars: Any, options: Any, registry: Registry, costs: Any, external: Any) -> Any:
    from papertrader.models.training import train_and_register

    return train_and_register(bars, options, registry, costs, external)


@dataclass
class ModelCache:
    """Trains each (fold cutoff, member, model parameters) once, into a registry per cutoff, and pins its version."""

    settings: Settings
    symbols: tuple[str, ...]
    small: bool
    trainer: Trainer = _train
    _data: tuple[pd.DataFrame, External] | None = field(default=None, init=False, repr=False)

    @property
    def root(self) -> Path:
        """Where the fold registries live, beside the study database."""
        return self.settings.home / "hyperopt" / "models"

    def home(self, until: datetime) -> Path:
        """The registry home of one cutoff; its name changes with anything that changes what the models learn."""
        setup = {
            "symbols": list(self.symbols),
            "until": until.isoformat(),
            "small": self.small,
            "costs": self.settings.costs.model_dump(mode="json"),
            "features": self.settings.features.model_dump(mode="json"),
        }
        digest = hashlib.sha256(json.dumps(setup, sort_keys=True).encode()).hexdigest()[:12]
        return self.root / f"{until:%Y%m%d}-{digest}"

    def fold(self, until: datetime, models: dict[str, dict[str, Any]]) -> FoldModels:
        """The fold's models for these parameters (trained now if this cutoff has not seen them), gated."""
        from filelock import FileLock

        from papertrader.signals.gating import admissions

        home = private_dir(self.home(until))
        registry = Registry(home)
        with FileLock(str(home / ".lock")):  # Ray workers scoring the same fold train each model once
            index_path = home / "index.json"
            index: dict[str, str] = json.loads(index_path.read_text()) if index_path.exists() else {}
            for member, params in sorted(models.items()):
                key = f"{member}:{json.dumps(params, sort_keys=True)}"
                if key not in index:
                    index[key] = self._train_member(registry, until, member, params)
                    index_path.write_text(json.dumps(index, indent=1, sort_keys=True))
            versions = tuple((m, index[f"{m}:{json.dumps(p, sort_keys=True)}"]) for m, p in sorted(models.items()))
        manifests = {m: registry.manifest(MEMBER_FAMILY[m], v) for m, v in versions}
        voting = tuple(m for m, a in admissions(manifests).items() if a.votes)
        return FoldModels(home, versions, voting)

    def _train_member(self, registry: Registry, until: datetime, member: str, params: dict[str, Any]) -> str:
        """Train one member on the bars before `until` only (the `train --until` path) and register it."""
        from papertrader.features.from_lake import available_families
        from papertrader.models.lake import bars_before, load_training_data
        from papertrader.models.training import TrainOptions

        if self._data is None:
            self._data = load_training_data(self.settings, "1d", self.symbols)
        bars, external = self._data
        used = available_families(external, self.symbols)
        features = self.settings.features
        options = TrainOptions(
            kind=member,  # type: ignore[arg-type]
            interval="1d",
            small=self.small,
            macro_series=tuple(external.macro) if "macro" in used else (),
            fundamentals="fundamentals" in used,
            sentiment="news" in used,
            fundamentals_lag_days=features.fundamentals_lag_days,
            macro_lag_days=features.macro_lag_days,
            params=params,
        )
        outcome = self.trainer(bars_before(bars, until), options, registry, self.settings.costs, external)
        return str(outcome.version)


@dataclass
class BoardObjective(Objective):
    """The walk-forward objective of the board: each fold runs on models trained before it, calibrated before it."""

    models: ModelCache | None = None
    cutoffs: tuple[datetime, ...] = ()

    def evaluate(self, params: dict[str, Any]) -> Scored:
        """The trial's Sharpe per fold, and which model members voted (passed the gate) in each."""
        settings_params, models = split_params(params)
        trial = settings_for(self.settings, settings_params)
        sharpes: list[float] = []
        voting: list[list[str]] = []
        for until, window in zip(self.cutoffs, self.plan.folds, strict=True):
            result, fold = self._run(trial, models, until, window)
            value = float(result.metrics.sharpe)
            sharpes.append(value if math.isfinite(value) else 0.0)  # as the trend search scores a flat fold
            voting.append(list(fold.voting))
        return Scored(sharpes, {"voting": voting, "cutoffs": [c.isoformat() for c in self.cutoffs]})

    def test_run(self, params: dict[str, Any], window: Window) -> RunResult:
        """The best trial on the held-out test, on models trained before the test (never before it was chosen)."""
        settings_params, models = split_params(params)
        until = cutoff_before(self.settings, self.symbols, window.start)
        result, _ = self._run(settings_for(self.settings, settings_params), models, until, window)
        return result

    def _run(
        self, settings: Settings, models: dict[str, dict[str, Any]], until: datetime, window: Window
    ) -> tuple[RunResult, FoldModels]:
        assert self.models is not None
        fold = self.models.fold(until, models)
        request = RunRequest(
            symbols=self.symbols, start=window.start, end=window.end, versions=fold.versions, models_home=fold.home
        )
        return self.runner(settings, request, persist=False), fold


def board_objective(
    settings: Settings,
    symbols: tuple[str, ...],
    plan: Plan,
    runner: Runner,
    *,
    small: bool,
    trainer: Trainer | None = None,
) -> BoardObjective:
    """The board's objective for the plan's folds; a fold too early to train and calibrate before is a ConfigError."""
    members = searched_members(settings)
    if not members:
        raise ConfigError("board.members names no model member and no trend member: nothing to search")
    if "lgbm" in members and len(symbols) < 2:
        raise ConfigError("the lgbm member ranks symbols against each other: give --symbols at least two")
    cutoffs = tuple(cutoff_before(settings, symbols, w.start) for w in plan.folds)
    cache = ModelCache(settings, symbols, small, trainer or _train)
    return BoardObjective(
        settings, symbols, plan, runner, space=board_space(settings, small), models=cache, cutoffs=cutoffs
    )
