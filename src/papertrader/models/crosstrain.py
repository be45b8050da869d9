"""Train the cross-sectional LightGBM family, score it by rank IC, gate it, and register it.

Rows are split by the same held-out fold as the other families (train | gap | validation | gap | test,
purged and embargoed by the label horizon). Samples are (row, symbol) cells with a bar, a label and at least
one other labelled symbol on the row (an excess return over a universe of one is always zero). The manifest
records the rank IC, ICIR and t-statistic on the validation and test windows and the quality gate on the
validation window.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from papertrader.config.settings import CostSettings
from papertrader.core.arrays import FloatArray, IntArray
from papertrader.core.errors import ConfigError, DataError
from papertrader.features.alpha158 import alpha158
from papertrader.features.labels import excess_over_universe
from papertrader.models import specs
from papertrader.models.crosssection import (
    CrossSectionModel,
    CrossSectionSpec,
    cross_fitted_probability,
    cross_sectional_z,
    fit_slope,
    outperform_probability,
    rank_ic_by_row,
    summarize_ic,
)
from papertrader.models.data import LabelSpec, Market, build_market, window_fingerprint
from papertrader.models.gate import evaluate_gate, gate_windows
from papertrader.models.registry import Registration, Registry
from papertrader.models.validation import make_folds


def cross_section_spec(interval: str, small: bool = False, horizon: int | None = None) -> CrossSectionSpec:
    """The production spec, or a tiny CI-sized one (few shallow trees, short patience)."""
    spec = CrossSectionSpec(interval=interval, horizon=horizon or 5)
    if small:
        spec = CrossSectionSpec(
            interval=interval,
            horizon=horizon or 5,
            num_leaves=7,
            max_depth=3,
            min_data_in_leaf=50,
            num_boost_round=40,
            early_stopping_rounds=10,
            learning_rate=0.1,
        )
    return spec


def cross_section_market(bars: pd.DataFrame, spec: CrossSectionSpec, costs: CostSettings) -> Market:
    """Prices on one grid with the tradable forward return and its per-cell cost (features.labels)."""
    market = build_market(bars, spec.interval, LabelSpec("direction", horizon=spec.horizon), costs)
    if len(market.symbols) < 2:
        raise ConfigError("the lgbm member ranks symbols against each other: train it on at least two symbols")
    return market


def excess_labels(market: Market) -> FloatArray:
    """(T, N) next-open return net of the trade's cost, minus that row's mean over the universe."""
    return excess_over_universe(market.forward - market.cost)


def features_of(market: Market, spec: CrossSectionSpec) -> npt.NDArray[np.float32]:
    """(T, N, F) Alpha158 factors of the market's bars (the member computes the same on the engine's panel)."""
    return alpha158(market.inputs.prices, spec.windows)


@dataclass(frozen=True)
class Samples:
    """The labelled (row, symbol) cells of one window and their features."""

    rows: IntArray
    symbols: IntArray
    x: npt.NDArray[np.float32]
    y: FloatArray

    def __len__(self) -> int:
        return int(self.rows.size)


def samples(x: npt.NDArray[np.float32], y: FloatArray, present: npt.NDArray[np.bool_], rows: IntArray) -> Samples:
    """Cells of `rows` with a bar, a label and another labelled symbol on the same row."""
    rows = np.asarray(rows, dtype=np.int64)
    ok = present[rows] & np.isfinite(y[rows])
    ok &= ok.sum(axis=1, keepdims=True) >= 2
    r, s = np.nonzero(ok)
    picked, syms = rows[r].astype(np.int64), s.astype(np.int64)
    return Samples(picked, syms, x[picked, syms], y[picked, syms])


def _panel(values: FloatArray, s: Samples, n_rows: int, n_symbols: int) -> FloatArray:
    out = np.full((n_rows, n_symbols), np.nan)
    out[s.rows, s.symbols] = values
    return out


def evaluate_window(
    model: CrossSectionModel, s: Samples, shape: tuple[int, int], horizon: int
) -> tuple[dict[str, Any], FloatArray, FloatArray]:
    """Rank IC summary of a window, and each sample's score and cross-sectional z-score."""
    score = model.scores(s.x)
    score_panel = _panel(score, s, *shape)
    z_panel = cross_sectional_z(score_panel)
    ics = rank_ic_by_row(score_panel, _panel(s.y, s, *shape))
    return summarize_ic(ics, horizon).to_dict(), score, z_panel[s.rows, s.symbols]


def _log_loss(p: FloatArray, y: IntArray) -> float:
    q = np.clip(np.where(y == 1, p, 1.0 - p), 1e-12, 1.0)
    return float(-np.mean(np.log(q)))


@dataclass
class CrossSectionOutcome:
    """A trained, scored model and everything its manifest records."""

    model: CrossSectionModel
    metrics: dict[str, Any]
    market: Market
    fold_train: tuple[int, int]
    seconds: float
    samples_per_second: float


def fit_cross_section(bars: pd.DataFrame, spec: CrossSectionSpec, costs: CostSettings) -> CrossSectionOutcome:
    """Train on the held-out fold's training rows, early-stop on its validation rows, score both windows."""
    started = time.perf_counter()
    market = cross_section_market(bars, spec, costs)
    fold = make_folds(len(market), specs.holdout(len(market), spec.horizon))[0]
    x = features_of(market, spec)
    y = excess_labels(market)
    train, val, test = (samples(x, y, market.present, fold.rows(name)) for name in ("train", "val", "test"))
    if len(train) == 0 or len(val) == 0:
        raise DataError("too few labelled cross-sections to train the lgbm member; import more history or symbols")
    fit_started = time.perf_counter()
    model = CrossSectionModel(spec).fit(train.x, train.y, val.x, val.y)
    fit_seconds = time.perf_counter() - fit_started
    model.prior = float(np.mean(train.y > 0))
    shape = (len(market), len(market.symbols))
    val_ic, val_score, val_z = evaluate_window(model, val, shape, spec.horizon)
    val_up = (val.y > 0).astype(np.int64)
    model.slope = fit_slope(val_z, val_up, model.prior)
    p_val, halves = cross_fitted_probability(val_z, val_up, val.rows, model.prior, spec.horizon)
    gate = evaluate_gate(
        np.stack([1.0 - p_val, p_val], axis=1),
        val_up,
        np.array([1.0 - model.prior, model.prior]),
        1,
        score=val_score,
        forward=val.y,
        groups=val.rows,
    )
    metrics: dict[str, Any] = {
        "validation": val_ic,
        "gate": gate.to_dict(),
        "probability_map": {
            "prior": model.prior,
            "slope": model.slope,
            "fitted_on": "validation",
            "gate_slopes": list(halves),  # cross-fitted: each validation half mapped with the other's slope
        },
        "fit": {"best_iteration": model.best_iteration, "seconds": fit_seconds},
        "samples": {"train": len(train), "val": len(val), "test": len(test)},
        "label": {
            "kind": "excess next-open return net of cost",
            "horizon": spec.horizon,
            "median_cost": market.band,
        },
    }
    if len(test):
        test_ic, _, test_z = evaluate_window(model, test, shape, spec.horizon)
        test_up = (test.y > 0).astype(np.int64)
        p_test = outperform_probability(test_z, model.prior, model.slope)
        base = np.full(test_up.size, model.prior)
        metrics["holdout"] = {
            **{f"rank_ic_{k}" if k in ("mean", "std") else k: v for k, v in test_ic.items()},
            "log_loss": _log_loss(p_test, test_up),
            "base_log_loss": _log_loss(base, test_up),
        }
        test_gate = evaluate_gate(
            np.stack([1.0 - p_test, p_test], axis=1),
            test_up,
            np.array([1.0 - model.prior, model.prior]),
            1,
            score=model.scores(test.x),
            forward=test.y,
            groups=test.rows,
        )
        metrics["gate"] = gate_windows(gate, test_gate)
    seconds = time.perf_counter() - started
    rate = len(train) * max(1, model.best_iteration) / fit_seconds if fit_seconds > 0 else 0.0
    return CrossSectionOutcome(model, metrics, market, fold.train, seconds, rate)


def register_cross_section(
    outcome: CrossSectionOutcome, registry: Registry, source_interval: str, promote: bool | None = None
) -> str:
    """Save the model as the next `lgbm` version with its manifest (metrics, gate, windows, fingerprint)."""
    model, market = outcome.model, outcome.market
    start, end = market.window(*outcome.fold_train)
    info = Registration(
        config={
            **model.spec.to_dict(),
            "family": "lgbm",
            "n_features": model.n_features,
            "input_shape": [model.n_features],
            "symbols": list(market.symbols),
            "source_interval": source_interval,
        },
        schema_hash=model.schema_hash,
        training_window={"start": start, "end": end, "data_end": market.inputs.ts[-1].isoformat()},
        data_fingerprint=window_fingerprint(market, outcome.fold_train),
        metrics=outcome.metrics,
        fallback={"class_prior": [1.0 - model.prior, model.prior]},
    )
    return registry.register("lgbm", model, info, promote=promote)
