"""Hyper-parameter trials for the sequence models, judged on the validation rows only, runnable on Ray.

Optuna's TPE sampler (seeded: the same data and seed give the same trials) over the design's ranges (LSTM:
2-3 layers, 128-256 units, 30-60 bars; GRU: 2 layers, 64-128 units, 20-40 bars; learning rate and dropout for
both), asked in batches so a batch can run as Ray tasks. Each trial trains on a fold's training rows and
reports its best validation loss; the test rows are never looked at, so choosing the best trial does not
leak the test window into the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from dataclasses import fields as dataclass_fields
from typing import Any, TypeVar

import numpy as np

from papertrader.models.data import Market
from papertrader.models.sequence import SequenceModel, SequenceSpec, prepare
from papertrader.models.validation import Fold

_SPACE: dict[str, dict[str, tuple[Any, ...]]] = {
    "lstm": {"hidden": (128, 192, 256), "layers": (2, 3), "lookback": (30, 40, 60)},
    "gru": {"hidden": (64, 96, 128), "layers": (2,), "lookback": (20, 24, 32, 40)},
}
T = TypeVar("T")
_COMMON: dict[str, tuple[Any, ...]] = {"lr": (3e-4, 1e-3, 3e-3), "dropout": (0.0, 0.1, 0.2)}


@dataclass(frozen=True)
class Trial:
    """One configuration and how it did on the validation rows."""

    params: dict[str, Any]
    val_loss: float
    val_accuracy: float
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


def search(
    family: str,
    n: int,
    seed: int,
    evaluate: Callable[[list[dict[str, Any]]], list[Trial]],
    batch: int = 1,
) -> list[Trial]:
    """n trials chosen by Optuna's TPE from the family's ranges, `batch` at a time through `evaluate`.

    `evaluate` trains and scores a list of configurations (in-process or as Ray tasks) on validation rows;
    each result is told back to the study so the next batch is sampled where validation loss was low.
    """
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    space = {**_SPACE[family], **_COMMON}
    done: list[Trial] = []
    while len(done) < n:
        asked = [study.ask() for _ in range(min(max(1, batch), n - len(done)))]
        params = [{k: t.suggest_categorical(k, list(v)) for k, v in space.items()} for t in asked]
        results = evaluate(params)
        for trial, result in zip(asked, results, strict=True):
            finite = np.isfinite(result.val_loss)
            study.tell(trial, result.val_loss if finite else None, state=None if finite else TrialState.FAIL)
        done.extend(results)
    return done


def apply_params(spec: SequenceSpec, params: dict[str, Any]) -> SequenceSpec:
    """The spec with a trial's parameters."""
    return replace(
        spec,
        hidden=int(params["hidden"]),
        layers=int(params["layers"]),
        lookback=int(params["lookback"]),
        dropout=float(params["dropout"]),
        train=replace(spec.train, lr=float(params["lr"])),
    )


def run_trial(market: Market, setup: tuple[SequenceSpec, Fold], params: dict[str, Any]) -> Trial:
    """Train one configuration on the fold's training rows; score it on its validation rows."""
    base, fold = setup
    spec = apply_params(base, params)
    started = time.perf_counter()
    data = prepare(market, spec, fold.rows("train"), fold.rows("val"))
    model = SequenceModel(spec)
    fit = model.fit(data)
    probs = model.predict(data.val)["probs"]
    accuracy = float(np.mean(np.argmax(probs, axis=1) == data.val.y)) if len(data.val) else float("nan")
    return Trial(params, fit.best_val_loss, accuracy, time.perf_counter() - started)


def best(trials: list[Trial]) -> Trial:
    """The trial with the lowest validation loss."""
    return min(trials, key=lambda t: t.val_loss)


#: The model hyper-parameters `papertrader hyperopt --strategy ensemble` searches, per board member, as choices
#: (a trial that picks values already trained for a fold reuses that model instead of training it again). The
#: `small` grid keeps the CI sizes of models.specs (`--small`); the other spans the production neighbourhood.
BOARD_MODEL_SPACE: dict[bool, dict[str, dict[str, tuple[Any, ...]]]] = {
    False: {
        "lstm": {"hidden": (64, 128, 192), "lookback": (30, 40, 60), "lr": (3e-4, 1e-3, 3e-3)},
        "gru": {"hidden": (32, 64, 96), "lookback": (16, 24, 32), "lr": (3e-4, 1e-3, 3e-3)},
        "ppo": {"learning_rate": (1e-4, 3e-4, 1e-3), "ent_coef": (0.0, 0.01)},
        "lgbm": {"num_leaves": (15, 31, 63), "learning_rate": (0.03, 0.05, 0.1)},
    },
    True: {
        "lstm": {"hidden": (8, 16), "lookback": (10, 20), "lr": (1e-3, 3e-3)},
        "gru": {"hidden": (8, 16), "lookback": (6, 8), "lr": (1e-3, 3e-3)},
        "ppo": {"learning_rate": (3e-4, 1e-3)},
        "lgbm": {"num_leaves": (7, 15), "learning_rate": (0.1, 0.2)},
    },
}


def board_model_space(member: str, small: bool) -> dict[str, tuple[Any, ...]]:
    """The searched choices of one model member (lstm, gru, ppo, lgbm) at the production or the CI size."""
    return BOARD_MODEL_SPACE[small][member]


def with_params(spec: T, params: Mapping[str, Any]) -> T:
    """A family's spec (sequence, PPO or LightGBM) with the given fields replaced; `lr` is the trainer's rate."""
    if not params:
        return spec
    fields = dict(params)
    lr = fields.pop("lr", None)
    known = {f.name for f in dataclass_fields(spec)}  # type: ignore[arg-type]
    unknown = sorted(set(fields) - known)
    if unknown or (lr is not None and "train" not in known):
        raise ValueError(f"{type(spec).__name__} has no parameter {', '.join(unknown) or 'lr'}")
    out = replace(spec, **fields)  # type: ignore[type-var]
    if lr is not None:
        out = replace(out, train=replace(out.train, lr=float(lr)))  # type: ignore[attr-defined, type-var]
    return out
