"""The references every model must beat, with the same verbs as the models: fit, predict, save, load.

Tabular baselines see the features at the decision row only (the last timestep of a window); buy-and-hold
is a trading rule, not a classifier, and is scored by `trading.backtest_rule` with a constant long target.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from papertrader.core.arrays import FloatArray, IntArray
from papertrader.core.errors import DataError


class Classifier(Protocol):
    """A class-probability model over (samples, features) rows."""

    name: str

    def fit(self, x: npt.NDArray[np.float32], y: IntArray) -> Classifier:
        """Learn from training rows."""
        ...

    def predict(self, x: npt.NDArray[np.float32]) -> FloatArray:
        """(samples, n_classes) probabilities."""
        ...

    def save(self, directory: Path) -> None:
        """Write the fitted model into a directory (read back with the class's `load`)."""
        ...


BASELINE_FILE = "baseline.pkl"


class _Persisted:
    """save/load for baselines: one pickle in the artifact directory (written by this program only)."""

    def save(self, directory: Path) -> None:
        """Write the fitted baseline into a directory."""
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / BASELINE_FILE, "wb") as fh:
            pickle.dump(self, fh)

    @classmethod
    def load(cls, directory: Path) -> Any:
        """Read a baseline written by `save`, refusing one of another kind."""
        with open(directory / BASELINE_FILE, "rb") as fh:
            model = pickle.load(fh)
        if not isinstance(model, cls):
            raise DataError(f"{directory} holds a {type(model).__name__}, not a {cls.__name__}")
        return model


def _full_probs(raw: FloatArray, seen: IntArray, n_classes: int) -> FloatArray:
    """Spread a model's columns (for the classes it saw in training) over all n_classes."""
    out = np.zeros((raw.shape[0], n_classes), dtype=np.float64)
    out[:, seen] = raw
    total = out.sum(axis=1, keepdims=True)  # LightGBM's softmax can drift ~1e-7 from 1: a distribution sums to 1
    np.divide(out, total, out=out, where=total > 0)
    return out


class MajorityClass(_Persisted):
    """Predicts the training class frequencies for every sample: argmax is the majority class."""

    name = "majority"

    def __init__(self, n_classes: int = 3) -> None:
        self.n_classes = n_classes
        self.prior = np.full(n_classes, 1.0 / n_classes)

    @property
    def majority(self) -> int:
        """The most frequent training class."""
        return int(np.argmax(self.prior))

    def fit(self, x: npt.NDArray[np.float32], y: IntArray) -> MajorityClass:
        """Count the classes."""
        if y.size == 0:
            raise DataError("majority baseline needs at least one training label")
        counts = np.bincount(y, minlength=self.n_classes).astype(np.float64)
        self.prior = counts / counts.sum()
        return self

    def predict(self, x: npt.NDArray[np.float32]) -> FloatArray:
        """The prior, repeated per row."""
        return np.repeat(self.prior[None, :], x.shape[0], axis=0)


class LogisticBaseline(_Persisted):
    """Multinomial logistic regression on the decision row's (already scaled) features."""

    name = "logistic"

    def __init__(self, n_classes: int = 3, c: float = 0.1, seed: int = 7) -> None:
        from sklearn.linear_model import LogisticRegression

        self.n_classes = n_classes
        self.model: Any = LogisticRegression(C=c, max_iter=500, random_state=seed)
        self.seen = np.arange(n_classes, dtype=np.int64)

    def fit(self, x: npt.NDArray[np.float32], y: IntArray) -> LogisticBaseline:
        """Fit the regression."""
        self.model.fit(x, y)
        self.seen = np.asarray(self.model.classes_, dtype=np.int64)
        return self

    def predict(self, x: npt.NDArray[np.float32]) -> FloatArray:
        """Class probabilities."""
        return _full_probs(np.asarray(self.model.predict_proba(x), dtype=np.float64), self.seen, self.n_classes)


class LightGBMBaseline(_Persisted):
    """Gradient-boosted trees, conservative settings, single-threaded and deterministic."""

    name = "lightgbm"

    def __init__(self, n_classes: int = 3, seed: int = 7, n_estimators: int = 200) -> None:
        from lightgbm import LGBMClassifier

        self.n_classes = n_classes
        self.model: Any = LGBMClassifier(
            n_estimators=n_estimators,
            learning_rate=0.03,
            num_leaves=15,
            min_child_samples=100,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            reg_lambda=1.0,
            random_state=seed,
            n_jobs=1,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        self.seen = np.arange(n_classes, dtype=np.int64)

    def fit(self, x: npt.NDArray[np.float32], y: IntArray) -> LightGBMBaseline:
        """Fit the trees."""
        self.model.fit(x, y)
        self.seen = np.asarray(self.model.classes_, dtype=np.int64)
        return self

    def predict(self, x: npt.NDArray[np.float32]) -> FloatArray:
        """Class probabilities."""
        return _full_probs(np.asarray(self.model.predict_proba(x), dtype=np.float64), self.seen, self.n_classes)


def tabular_baselines(n_classes: int, seed: int) -> list[Classifier]:
    """The classifiers that go beside every model in the walk-forward table."""
    return [MajorityClass(n_classes), LogisticBaseline(n_classes, seed=seed), LightGBMBaseline(n_classes, seed=seed)]
