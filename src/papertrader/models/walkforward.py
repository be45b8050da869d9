"""Walk-forward evaluation: every model and every baseline on the same purged folds, net of costs.

Per fold: fit the feature pipeline on the training rows only, train the model (early stopping on the
validation rows), predict the test rows, and trade the predictions with the next-bar-open rule and the
project's cost functions. Baselines see the same scaled features and the same test rows. Overall scores
pool every fold's test predictions (the rank IC is the mean of the per-fold ICs); the overall trading
curve chains the fold curves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from papertrader.config.settings import CostSettings
from papertrader.core.arrays import FloatArray, IntArray
from papertrader.models.baselines import tabular_baselines
from papertrader.models.data import Market, featurize
from papertrader.models.dataset import Windows
from papertrader.models.metrics import ClassificationScores, binary_brier, score_classifier
from papertrader.models.rl.agent import PPOAgent, PPOSpec
from papertrader.models.sequence import SequenceModel, SequenceSpec, prepare
from papertrader.models.trading import (
    TradingRun,
    TradingScores,
    backtest_rule,
    combine_runs,
    positions_from_probs,
)
from papertrader.models.validation import Fold, WalkForwardConfig, make_folds

Perturbation = Literal["none", "shuffle_labels", "future_shift"]
UP, DOWN = 2, 0


@dataclass(frozen=True)
class Plan:
    """What to evaluate: one model family (a sequence spec or a PPO spec), folds, rule and costs."""

    family: str
    folds: WalkForwardConfig
    costs: CostSettings
    sequence: SequenceSpec | None = None
    ppo: PPOSpec | None = None
    long_short: bool = False
    baselines: bool = True
    perturbation: Perturbation = "none"
    shift: int = 0  # rows, for the future-shift audit
    seed: int = 7


@dataclass
class Prediction:
    """One model's test-set output in one fold (classifiers: probabilities; all: a trading run)."""

    model: str
    run: TradingRun
    probs: FloatArray | None = None
    y: IntArray | None = None
    forward: FloatArray | None = None
    reversal: FloatArray | None = None
    reversal_y: FloatArray | None = None
    majority: int = 0


@dataclass
class FoldOutput:
    """Everything a fold produced, in a picklable form (it may come back from a Ray worker)."""

    fold: Fold
    predictions: list[Prediction]
    periods_per_year: float
    train_seconds: float = 0.0
    samples_per_second: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)


def _targets(test: Windows, rows: IntArray, n: int, positions: FloatArray) -> FloatArray:
    """(len(rows), N) target matrix from per-sample positions; 0 where a symbol has no sample."""
    out = np.zeros((rows.size, n))
    where = np.searchsorted(rows, test.rows)
    out[where, test.symbols] = positions
    return out


def _perturbed_labels(market: Market, plan: Plan, rng: np.random.Generator, stop: int) -> Market:
    """Labels with their link to the features destroyed, for the leakage audit."""
    labels = market.labels.copy()
    aux = None if market.aux is None else market.aux.copy()
    if plan.perturbation == "shuffle_labels":  # training and validation labels only: the test keeps the truth
        for j in range(labels.shape[1]):
            known = np.flatnonzero(labels[:stop, j] >= 0)
            perm = rng.permutation(known)
            labels[known, j] = labels[perm, j]
            if aux is not None:
                aux[known, j] = aux[perm, j]
    elif plan.perturbation == "future_shift":
        s = plan.shift
        labels = np.full_like(labels, -1)
        labels[:-s] = market.labels[s:]
        if aux is not None and market.aux is not None:
            aux = np.full_like(aux, np.nan)
            aux[:-s] = market.aux[s:]
    return replace(market, labels=labels, aux=aux)


def _classifier_prediction(
    name: str, probs: FloatArray, test: Windows, market: Market, rows: IntArray, plan: Plan, majority: int
) -> Prediction:
    pos = positions_from_probs(probs, UP, DOWN, plan.long_short)
    targets = _targets(test, rows, len(market.symbols), pos)
    run = backtest_rule(targets, rows, market.opens, market.closes, plan.costs, market.periods_per_year(rows))
    return Prediction(
        model=name,
        run=run,
        probs=probs,
        y=test.y,
        forward=market.forward[test.rows, test.symbols],
        majority=majority,
    )


def _buy_and_hold(market: Market, rows: IntArray, plan: Plan) -> Prediction:
    targets = np.ones((rows.size, len(market.symbols)))
    run = backtest_rule(targets, rows, market.opens, market.closes, plan.costs, market.periods_per_year(rows))
    return Prediction(model="buy_and_hold", run=run)


def _sequence_fold(market: Market, plan: Plan, fold: Fold) -> FoldOutput:
    assert plan.sequence is not None
    spec = plan.sequence
    test_rows = fold.rows("test")
    data = prepare(market, spec, fold.rows("train"), fold.rows("val"), test_rows)
    assert data.test is not None
    model = SequenceModel(spec)
    fit = model.fit(data)
    counts = data.train.class_counts(3)
    majority = int(np.argmax(counts))
    rows = np.unique(data.test.rows)
    out = model.predict(data.test)
    pred = _classifier_prediction(plan.family, out["probs"], data.test, market, rows, plan, majority)
    if "reversal" in out:
        pred.reversal, pred.reversal_y = out["reversal"], data.test.aux.astype(np.float64)
    predictions = [pred]
    if plan.baselines:
        x_train = data.train.last_step()
        x_test = data.test.last_step()
        for baseline in tabular_baselines(3, plan.seed):
            baseline.fit(x_train, data.train.y)
            probs = baseline.predict(x_test)
            predictions.append(_classifier_prediction(baseline.name, probs, data.test, market, rows, plan, majority))
        predictions.append(_buy_and_hold(market, rows, plan))
    return FoldOutput(
        fold=fold,
        predictions=predictions,
        periods_per_year=market.periods_per_year(rows),
        train_seconds=fit.seconds,
        samples_per_second=fit.samples_per_second,
        notes={
            "train_samples": len(data.train),
            "val_samples": len(data.val),
            "test_samples": len(data.test),
            "best_epoch": fit.best_epoch,
            "epochs_run": fit.epochs_run,
            "train_window": market.window(*fold.train),
            "test_window": market.window(*fold.test),
            "class_counts_train": counts.tolist(),
        },
    )


def _shuffle_feature_rows(tensor: npt.NDArray[np.float32], rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Rows of the feature tensor in random order: features no longer say anything about prices."""
    return np.ascontiguousarray(tensor[rng.permutation(tensor.shape[0])])


def _ppo_fold(market: Market, plan: Plan, fold: Fold) -> FoldOutput:
    assert plan.ppo is not None
    train_rows, test_rows = fold.rows("train"), fold.rows("test")
    fitted, tensor = featurize(market, plan.ppo.features, (int(train_rows[0]), int(train_rows[-1]) + 1))
    if plan.perturbation == "shuffle_labels":
        tensor = _shuffle_feature_rows(tensor, np.random.default_rng(plan.seed + fold.index))
    elif plan.perturbation == "future_shift":
        stale = np.zeros_like(tensor)  # features of `shift` rows earlier: still causal, but about another time
        stale[plan.shift :] = tensor[: -plan.shift]
        tensor = stale
    agent = PPOAgent(plan.ppo).fit(tensor, market.opens, market.closes, train_rows, fitted)
    ppy = market.periods_per_year(test_rows)
    run = agent.evaluate(tensor, market.opens, market.closes, test_rows, ppy)
    predictions = [Prediction(model="ppo", run=run)]
    if plan.baselines:
        predictions.append(_buy_and_hold(market, test_rows, plan))
    steps = plan.ppo.total_timesteps
    return FoldOutput(
        fold=fold,
        predictions=predictions,
        periods_per_year=ppy,
        train_seconds=agent.seconds,
        samples_per_second=steps / agent.seconds if agent.seconds > 0 else 0.0,
        notes={"train_window": market.window(*fold.train), "test_window": market.window(*fold.test)},
    )


def run_fold(market: Market, plan: Plan, fold: Fold) -> FoldOutput:
    """Train and evaluate one fold: the unit of work that runs in-process or on a Ray worker."""
    if plan.perturbation != "none" and plan.ppo is None:
        market = _perturbed_labels(market, plan, np.random.default_rng(plan.seed + fold.index), fold.val[1])
    if plan.ppo is not None:
        return _ppo_fold(market, plan, fold)
    return _sequence_fold(market, plan, fold)


@dataclass(frozen=True)
class ModelSummary:
    """One table row: a model's pooled classification scores (if a classifier) and chained trading scores."""

    model: str
    classification: ClassificationScores | None
    trading: TradingScores
    reversal_brier: float | None = None
    per_fold: list[dict[str, Any]] = field(default_factory=list)


def summarize(outputs: list[FoldOutput]) -> list[ModelSummary]:
    """Pool the folds per model, in the order the models first appear."""
    names: list[str] = []
    for out in outputs:
        for p in out.predictions:
            if p.model not in names:
                names.append(p.model)
    ppy = float(np.mean([o.periods_per_year for o in outputs])) if outputs else 252.0
    rows: list[ModelSummary] = []
    for name in names:
        preds = [(o.fold.index, p) for o in outputs for p in o.predictions if p.model == name]
        per_fold = []
        for k, p in preds:
            entry: dict[str, Any] = {"fold": k, "trading": p.run.scores.as_dict()}
            if p.probs is not None and p.y is not None and p.forward is not None:
                entry["classification"] = score_classifier(
                    p.probs, p.y, p.majority, p.probs[:, UP] - p.probs[:, DOWN], p.forward
                ).as_dict()
            per_fold.append(entry)
        classification = None
        reversal = None
        if all(p.probs is not None for _, p in preds):
            probs = np.concatenate([p.probs for _, p in preds if p.probs is not None])
            y = np.concatenate([p.y for _, p in preds if p.y is not None])
            fwd = np.concatenate([p.forward for _, p in preds if p.forward is not None])
            majority = np.concatenate([np.full(p.y.size, p.majority) for _, p in preds if p.y is not None])
            classification = score_classifier(probs, y, majority, probs[:, UP] - probs[:, DOWN], fwd)
            # rank IC within each fold, averaged: pooling would rank one fold's scores against another's
            fold_ic = [e["classification"]["rank_ic"] for e in per_fold if "classification" in e]
            finite = [v for v in fold_ic if np.isfinite(v)]
            classification = replace(classification, rank_ic=float(np.mean(finite)) if finite else float("nan"))
        if all(p.reversal is not None for _, p in preds) and preds:
            rp = np.concatenate([p.reversal for _, p in preds if p.reversal is not None])
            ry = np.concatenate([p.reversal_y for _, p in preds if p.reversal_y is not None])
            reversal = binary_brier(rp, ry)
        trading = combine_runs([p.run for _, p in preds], ppy)
        rows.append(ModelSummary(name, classification, trading, reversal, per_fold))
    return rows


Mapper = Callable[[Callable[..., FoldOutput], Market, Plan, list[Fold]], list[FoldOutput]]


def in_process(fn: Callable[..., FoldOutput], market: Market, plan: Plan, folds: list[Fold]) -> list[FoldOutput]:
    """Run folds one after another in this process (the default without Ray)."""
    return [fn(market, plan, fold) for fold in folds]


def walk_forward(
    market: Market, plan: Plan, mapper: Mapper = in_process, first_row: int = 0
) -> tuple[list[Fold], list[FoldOutput]]:
    """Cut the folds and run them through `mapper` (in-process, or Ray via models.scaleout)."""
    folds = make_folds(len(market), plan.folds, first_row)
    return folds, mapper(run_fold, market, plan, folds)
