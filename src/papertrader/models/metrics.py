"""Classification scores of predicted class probabilities, each a pure function of arrays.

Probabilities are (samples, classes) rows summing to 1; labels are integer class codes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_EPS = 1e-12


def accuracy(pred: IntArray, y: IntArray) -> float:
    """Share of samples whose predicted class is the true one (NaN with no samples)."""
    return float(np.mean(pred == y)) if y.size else math.nan


def balanced_accuracy(pred: IntArray, y: IntArray) -> float:
    """Mean recall over the classes present in y, so always predicting the majority scores 1/K."""
    classes = np.unique(y)
    if classes.size == 0:
        return math.nan
    return float(np.mean([np.mean(pred[y == c] == c) for c in classes]))


def log_loss(probs: FloatArray, y: IntArray) -> float:
    """Mean negative log probability of the true class (probabilities clipped away from 0)."""
    if y.size == 0:
        return math.nan
    p = np.clip(probs[np.arange(y.size), y], _EPS, 1.0)
    return float(-np.mean(np.log(p)))


def brier(probs: FloatArray, y: IntArray) -> float:
    """Multi-class Brier score: mean squared distance between the probability row and the one-hot truth."""
    if y.size == 0:
        return math.nan
    onehot = np.zeros_like(probs)
    onehot[np.arange(y.size), y] = 1.0
    return float(np.mean(np.sum((probs - onehot) ** 2, axis=1)))


def binary_brier(prob: FloatArray, y: FloatArray) -> float:
    """Brier score of a single probability against 0/1 outcomes."""
    return float(np.mean((prob - y) ** 2)) if y.size else math.nan


def _log_binom_pmf(k: IntArray, n: int, p: float) -> FloatArray:
    lg = np.vectorize(math.lgamma, otypes=[np.float64])
    kf = k.astype(np.float64)
    return np.asarray(
        math.lgamma(n + 1) - lg(kf + 1) - lg(n - kf + 1) + kf * math.log(p) + (n - kf) * math.log1p(-p),
        dtype=np.float64,
    )


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
    logs = _log_binom_pmf(np.arange(successes, n + 1, dtype=np.int64), n, p)
    top = float(np.max(logs))
    return float(min(1.0, math.exp(top) * float(np.sum(np.exp(logs - top)))))


def rank(x: FloatArray) -> FloatArray:
    """Average ranks (ties share their mean rank), as in Spearman's correlation."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(x.size, dtype=np.float64)
    ranks[order] = np.arange(x.size, dtype=np.float64)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return np.asarray(sums[inverse] / counts[inverse], dtype=np.float64)


def rank_ic(score: FloatArray, forward_return: FloatArray) -> float:
    """Spearman correlation of a score with the realised forward return over all finite pairs."""
    ok = np.isfinite(score) & np.isfinite(forward_return)
    if ok.sum() < 3:
        return math.nan
    a, b = rank(score[ok]), rank(forward_return[ok])
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return 0.0
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))


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
