"""The cross-sectional LightGBM family: rank the universe's symbols by their coming excess return.

One gradient-boosted regressor is trained pooled over every symbol of the universe on Alpha158 factors
(features.alpha158, already scale-free: each is divided by the current close or volume, as in Qlib), to
predict the label of features.labels (next open to the open h bars later, net of the trade's cost band)
minus the universe's mean on that row: the part of a symbol's return the member can rank, not the market's
drift. It is judged the way such rankers are judged, by the rank IC per date (Spearman correlation of the
scores with what happened, across the symbols of one row), its mean, ICIR and t-statistic.

The board wants a probability, so the score becomes P(outperform) through one documented map: the score's
cross-sectional z-score on that row, through a logistic whose intercept is the training base rate of
outperforming and whose single slope (>= 0) is fitted by maximum likelihood on the validation rows (the model
never trained on them). The quality gate must not judge that slope on the rows it was fitted on (a slope
fitted to noise always "beats" the base rate in-sample), so the gate scores cross-fitted probabilities: each
half of the validation window (in time, with the label horizon purged around the split) is mapped with the
slope fitted on the other half. A score that does not rank gets slopes near zero or slopes that hurt out of
sample, so P(up) stays at the base rate or loses to it, and the gate leaves the member out.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from papertrader.core.arrays import FloatArray, IntArray
from papertrader.core.errors import ConfigError, DataError
from papertrader.features.alpha158 import WINDOWS, feature_names

MODEL_FILE: Final = "model.txt"
CONFIG_FILE: Final = "config.json"
MIN_SYMBOLS_IC: Final = 3  # a Spearman correlation over fewer symbols is +-1 or noise


@dataclass(frozen=True)
class CrossSectionSpec:
    """Everything that defines the LightGBM member before training (no data, no trees)."""

    interval: str = "1d"
    horizon: int = 5
    windows: tuple[int, ...] = WINDOWS
    learning_rate: float = 0.05
    num_leaves: int = 31
    max_depth: int = 6
    min_data_in_leaf: int = 100
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l1: float = 1.0
    lambda_l2: float = 10.0
    num_boost_round: int = 400
    early_stopping_rounds: int = 40
    seed: int = 7
    num_threads: int = 2
    extra: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """LightGBM parameters: squared error, deterministic (seeded, fixed threads, row-wise histograms)."""
        return {
            "objective": "regression",
            "metric": "l2",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l1": self.lambda_l1,
            "lambda_l2": self.lambda_l2,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.num_threads,
            "verbosity": -1,
            **self.extra,
        }

    @property
    def names(self) -> tuple[str, ...]:
        """Feature columns, in order."""
        return feature_names(self.windows)

    def schema_hash(self) -> str:
        """What the features are: a version trained on other columns must not be fed these."""
        return hashlib.sha256(("alpha158|" + ",".join(self.names)).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for config.json and the manifest."""
        out = asdict(self)
        out["windows"] = list(self.windows)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CrossSectionSpec:
        """Rebuild from `to_dict`."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["windows"] = tuple(int(w) for w in known.get("windows", WINDOWS))
        return cls(**known)


# ----------------------------------------------------------------- rank IC


def rank_ic_by_row(score: FloatArray, realised: FloatArray, min_symbols: int = MIN_SYMBOLS_IC) -> FloatArray:
    """(T,) Spearman correlation across symbols of each row's scores and realised returns (NaN: too few)."""
    ok = np.isfinite(score) & np.isfinite(realised)
    s = pd.DataFrame(np.where(ok, score, np.nan)).rank(axis=1).to_numpy()
    r = pd.DataFrame(np.where(ok, realised, np.nan)).rank(axis=1).to_numpy()
    count = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sc = s - _row_mean(s)
        rc = r - _row_mean(r)
        num = np.nansum(sc * rc, axis=1)
        den = np.sqrt(np.nansum(sc**2, axis=1) * np.nansum(rc**2, axis=1))
        ic = num / den
    return np.where((count >= min_symbols) & (den > 0), ic, np.nan)


def _row_mean(a: FloatArray) -> FloatArray:
    """Mean of each row's finite entries as a column (NaN for a row without any), without warnings."""
    ok = np.isfinite(a)
    count = ok.sum(axis=1, keepdims=True)
    total = np.where(ok, a, 0.0).sum(axis=1, keepdims=True)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@dataclass(frozen=True, slots=True)
class ICSummary:
    """Rank IC over a window: its mean, spread, ICIR and a t-statistic that counts overlapping labels once."""

    mean: float
    std: float
    icir: float
    t_stat: float
    positive: float  # share of dates with IC > 0
    dates: int
    horizon: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (NaN as None) for manifest.json."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def summarize_ic(ics: FloatArray, horizon: int) -> ICSummary:
    """Mean rank IC, ICIR = mean / std, and t = ICIR * sqrt(dates / horizon).

    Labels of neighbouring dates share h - 1 of their h bars, so the dates hold about dates / h independent
    outcomes; the t-statistic uses that count, not the raw number of dates (which would overstate it ~sqrt(h)x).
    """
    x = ics[np.isfinite(ics)]
    n = int(x.size)
    if n < 2:
        return ICSummary(math.nan, math.nan, math.nan, math.nan, math.nan, n, horizon)
    mean, std = float(np.mean(x)), float(np.std(x, ddof=1))
    icir = mean / std if std > 0 else math.nan
    t = icir * math.sqrt(n / max(1, horizon)) if std > 0 else math.nan
    return ICSummary(mean, std, icir, t, float(np.mean(x > 0)), n, horizon)


# ----------------------------------------------------------------- score -> P(outperform)


def cross_sectional_z(score: FloatArray) -> FloatArray:
    """Each row's scores as z-scores across the symbols that have one (0 where the row does not vary)."""
    s = np.atleast_2d(score)
    mean = _row_mean(s)
    std = np.sqrt(_row_mean((s - mean) ** 2))
    with np.errstate(invalid="ignore"):
        z = np.where(std > 0, (s - mean) / np.where(std > 0, std, 1.0), 0.0)
    return np.where(np.isfinite(s), z, np.nan).reshape(np.shape(score))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def outperform_probability(z: FloatArray, prior: float, slope: float) -> FloatArray:
    """P(outperform) = logistic(logit(prior) + slope * z): the base rate where the score says nothing."""
    return np.asarray(1.0 / (1.0 + np.exp(-(_logit(prior) + slope * z))), dtype=np.float64)


def fit_slope(z: FloatArray, outperformed: IntArray, prior: float, iterations: int = 50) -> float:
    """Maximum-likelihood slope (>= 0) of the logistic map with the intercept fixed at the prior (Newton)."""
    ok = np.isfinite(z)
    z, y = z[ok], outperformed[ok].astype(np.float64)
    if z.size == 0 or not np.any(z != 0):
        return 0.0
    b, k = _logit(prior), 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(b + k * z)))
        grad = float(np.sum((y - p) * z))
        hess = float(np.sum(p * (1 - p) * z * z))
        if hess <= 0:
            break
        step = grad / hess
        k += step
        if abs(step) < 1e-10:
            break
    return max(0.0, float(k))


def cross_fitted_probability(
    z: FloatArray, outperformed: IntArray, rows: IntArray, prior: float, horizon: int
) -> tuple[FloatArray, tuple[float, float]]:
    """P(outperform) of each sample with the slope fitted on the other half of the window (split in time).

    Rows within `horizon` of the split are left out of both fits (their labels straddle it). Returns the
    probabilities and the two slopes (first half's, second half's).
    """
    times = np.unique(rows)
    split = times[times.size // 2] if times.size else 0
    first = rows < split
    far = np.abs(rows - split) > horizon
    slope_first = fit_slope(z[~first & far], outperformed[~first & far], prior)
    slope_second = fit_slope(z[first & far], outperformed[first & far], prior)
    p = np.where(first, outperform_probability(z, prior, slope_first), outperform_probability(z, prior, slope_second))
    return np.asarray(p, dtype=np.float64), (slope_first, slope_second)


# ----------------------------------------------------------------- the model


class CrossSectionModel:
    """A trained LightGBM ranker with its spec, the base rate and the slope that make its P(outperform)."""

    def __init__(self, spec: CrossSectionSpec) -> None:
        self.spec = spec
        self.booster: Any = None
        self.prior = 0.5
        self.slope = 0.0
        self.best_iteration = 0
        self.pipeline = None  # no fitted scaler: the factors are scale-free (the loader asks every family)

    @property
    def n_features(self) -> int:
        """Columns per sample."""
        return len(self.spec.names)

    @property
    def schema_hash(self) -> str:
        """The feature schema the trees were grown on."""
        return self.spec.schema_hash()

    def fit(
        self, x_train: npt.NDArray[Any], y_train: FloatArray, x_val: npt.NDArray[Any], y_val: FloatArray
    ) -> CrossSectionModel:
        """Grow trees on the training rows, stopping when the validation rows' squared error stops improving."""
        import lightgbm as lgb

        if x_train.shape[0] == 0 or x_val.shape[0] == 0:
            raise DataError("the LightGBM member needs training and validation samples; import more history")
        params = self.spec.params()
        train = lgb.Dataset(x_train, y_train, feature_name=list(self.spec.names), params={"verbosity": -1})
        val = lgb.Dataset(x_val, y_val, reference=train)
        self.booster = lgb.train(
            params,
            train,
            num_boost_round=self.spec.num_boost_round,
            valid_sets=[val],
            valid_names=["validation"],
            callbacks=[lgb.early_stopping(self.spec.early_stopping_rounds, verbose=False)],
        )
        self.best_iteration = int(self.booster.best_iteration or self.booster.current_iteration())
        return self

    def _require(self) -> Any:
        if self.booster is None:
            raise ConfigError("the lgbm model is not trained; fit or load it first")
        return self.booster

    def scores(self, x: npt.NDArray[Any]) -> FloatArray:
        """Predicted excess return for (B, F) samples, on one thread (predictable beside the engine)."""
        booster = self._require()
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ConfigError(f"lgbm expects (batch, {self.n_features}) features, got {x.shape}")
        out = booster.predict(x, num_iteration=self.best_iteration, num_threads=1)
        return np.asarray(out, dtype=np.float64)

    def predict_array(self, x: npt.NDArray[Any]) -> dict[str, FloatArray]:
        """One cross-section (the batch is the universe at one bar): 'score' and 'probs' = [P(under), P(out)]."""
        score = self.scores(x)
        p = outperform_probability(cross_sectional_z(score[None, :])[0], self.prior, self.slope)
        return {"probs": np.stack([1.0 - p, p], axis=1), "score": score}

    def save(self, directory: Path) -> None:
        """Write the trees (LightGBM's text format) and the spec, base rate and slope."""
        booster = self._require()
        directory.mkdir(parents=True, exist_ok=True)
        booster.save_model(str(directory / MODEL_FILE), num_iteration=self.best_iteration)
        config = {
            "spec": self.spec.to_dict(),
            "n_features": self.n_features,
            "prior": self.prior,
            "slope": self.slope,
            "best_iteration": self.best_iteration,
            "schema_hash": self.schema_hash,
        }
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2))

    @classmethod
    def load(cls, directory: Path) -> CrossSectionModel:
        """Read a model written by `save`; raises if a file is missing or the trees do not fit the features."""
        import lightgbm as lgb

        config = json.loads((directory / CONFIG_FILE).read_text())
        model = cls(CrossSectionSpec.from_dict(config["spec"]))
        model.prior = float(config["prior"])
        model.slope = float(config["slope"])
        booster = lgb.Booster(model_file=str(directory / MODEL_FILE))
        if booster.num_feature() != model.n_features or int(config["n_features"]) != model.n_features:
            raise ConfigError(f"lgbm trees read {booster.num_feature()} features, the spec names {model.n_features}")
        if config.get("schema_hash") != model.schema_hash:
            raise ConfigError("lgbm config schema hash differs from its spec's features")
        model.booster = booster
        model.best_iteration = int(config.get("best_iteration") or booster.current_iteration())
        return model
