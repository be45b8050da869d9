"""Classification scores of predicted class probabilities, each a pure function of arrays.

The arithmetic is scikit-learn's and SciPy's; this module keeps the project's conventions around them
(NaN with no samples, a constant ranking scores an IC of 0, probabilities clipped at 1e-12).

Probabilities are (samples, classes) rows summing to 1; labels are integer class codes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import sklearn.metrics as skm
from scipy import stats

from papertrader.core.arrays import FloatArray, IntArray

_EPS = 1e-12


def accuracy(pred: IntArray, y: IntArray) -> float:
    """Share of samples whose predicted class is the true one (NaN with no samples)."""
    return float(skm.accuracy_score(y, pred)) if y.size else math.nan


def balanced_accuracy(pred: IntArray, y: IntArray) -> float:
    """Mean recall over the classes present in y, so always predicting the majority scores 1/K."""
    classes = np.unique(y)
    if classes.size == 0:
        return math.nan
    return float(skm.recall_score(y, pred, labels=classes, average="macro", zero_division=0))


def log_loss(probs: FloatArray, y: IntArray) -> float:
    """Mean negative log probability of the true class (probabilities clipped away from 0)."""
    if y.size == 0:
        return math.nan
    p = np.clip(probs[np.arange(y.size), y], _EPS, 1.0)
    # sklearn's log_loss renormalises rows and warns when they do not sum to 1 (float32 model outputs);
    # the score wanted here is the true-class probability as given, so it is scored as a binary outcome
    return float(skm.log_loss(np.ones(y.size), p, labels=[0, 1]))


def brier(probs: FloatArray, y: IntArray) -> float:
    """Multi-class Brier score: mean squared distance between the probability row and the one-hot truth."""
    if y.size == 0:
        return math.nan
    onehot = np.zeros_like(probs)
    onehot[np.arange(y.size), y] = 1.0
    return float(skm.mean_squared_error(onehot, probs, multioutput="raw_values").sum())


def binary_brier(prob: FloatArray, y: FloatArray) -> float:
    """Brier score of a single probability against 0/1 outcomes."""
    return float(skm.brier_score_loss(y, prob, pos_label=1)) if y.size else math.nan


def binomial_sf(successes: int, n: int, p: float) -> float:
    """P(X >= successes) for X ~ Binomial(n, p): the one-sided p-value of beating a hit rate p by luck."""
    if n <= 0 or successes <= 0:
        return 1.0
    if successes > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    return float(stats.binomtest(successes, n, p, alternative="greater").pvalue)


def rank(x: FloatArray) -> FloatArray:
    """Average ranks (ties share their mean rank), as in Spearman's correlation (0-based)."""
    return np.asarray(stats.rankdata(x, method="average") - 1.0, dtype=np.float64)


def rank_ic(score: FloatArray, forward_return: FloatArray) -> float:
    """Spearman correlation of a score with the realised forward return over all finite pairs."""
    ok = np.isfinite(score) & np.isfinite(forward_return)
    if ok.sum() < 3:
        return math.nan
    a, b = score[ok], forward_return[ok]
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0  # a constant side carries no ranking information (scipy would warn and give NaN)
    return float(stats.spearmanr(a, b).statistic)


@dataclass(frozen=True, slots=True)
class ClassificationScores:
    """All the scores one model gets on one test set, beside its majority-class reference."""

    n: int
    accuracy: float
    balanced_accuracy: float
    majority_accuracy: float
    p_value: float
    log_loss: float
    brier: float
    rank_ic: float

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict for JSON and tables."""
        return asdict(self)


def score_classifier(
    probs: FloatArray, y: IntArray, majority_class: int | IntArray, score: FloatArray, forward_return: FloatArray
) -> ClassificationScores:
    """Score probabilities against labels; the p-value asks whether accuracy beats the majority baseline.

    majority_class is the training set's most frequent class (per sample when folds are pooled, since each
    fold's baseline predicts its own training majority); its hit rate on y is the baseline accuracy.
    """
    pred = np.asarray(np.argmax(probs, axis=1), dtype=np.int64)
    hits = int(np.sum(pred == y))
    base = float(np.mean(y == majority_class)) if y.size else math.nan
    return ClassificationScores(
        n=int(y.size),
        accuracy=accuracy(pred, y),
        balanced_accuracy=balanced_accuracy(pred, y),
        majority_accuracy=base,
        p_value=binomial_sf(hits, int(y.size), base) if y.size else math.nan,
        log_loss=log_loss(probs, y),
        brier=brier(probs, y),
        rank_ic=rank_ic(score, forward_return),
    )
