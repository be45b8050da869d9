"""The cross-sectional LightGBM family: rank IC arithmetic, the probability map, determinism, registry round trip."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from models_bars import daily_bars

from papertrader.config.settings import CostSettings
from papertrader.features.alpha158 import feature_names
from papertrader.models.crosssection import (
    CrossSectionModel,
    CrossSectionSpec,
    cross_sectional_z,
    fit_slope,
    outperform_probability,
    rank_ic_by_row,
    summarize_ic,
)
from papertrader.models.crosstrain import (
    cross_section_spec,
    excess_labels,
    features_of,
    fit_cross_section,
    register_cross_section,
)
from papertrader.models.gate import gate_of
from papertrader.models.loading import ModelHandle, load_version
from papertrader.models.registry import Registry

SYMBOLS = ("SPY", "IBM", "AAPL", "BAC", "AIG", "QQQ")


def _planted(seed: int, t: int = 400, n: int = 30, strength: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic panel (unit test): realised returns = strength x a known score + noise, per row."""
    rng = np.random.default_rng(seed)
    score = rng.normal(size=(t, n))
    realised = strength * score + rng.normal(size=(t, n))
    return score, realised


def test_rank_ic_finds_a_planted_signal_and_nothing_in_a_shuffled_one() -> None:
    """Synthetic panel (unit test): the IC of a planted signal is near its population Spearman value."""
    score, realised = _planted(1)
    ics = rank_ic_by_row(score, realised)
    summary = summarize_ic(ics, horizon=5)
    expected = 6 / math.pi * math.asin(0.3 / math.sqrt(1.09) / 2)  # Spearman of a bivariate normal
    assert summary.mean == pytest.approx(expected, abs=0.03)
    assert summary.icir == pytest.approx(summary.mean / summary.std)
    assert summary.t_stat == pytest.approx(summary.icir * math.sqrt(400 / 5))
    assert summary.t_stat > 10 and summary.dates == 400
    shuffled = summarize_ic(
        rank_ic_by_row(np.random.default_rng(2).permutation(score.ravel()).reshape(score.shape), realised), 5
    )
    assert abs(shuffled.mean) < 0.02 and abs(shuffled.t_stat) < 3


def test_rank_ic_uses_only_symbols_with_both_values_and_skips_thin_rows() -> None:
    """Synthetic rows (unit test): NaN cells are left out; fewer than three symbols give no IC."""
    score = np.array([[1.0, 2.0, 3.0, np.nan], [1.0, 2.0, np.nan, np.nan], [3.0, 2.0, 1.0, 0.0]])
    realised = np.array([[0.1, 0.2, 0.3, 9.0], [0.2, 0.1, 0.0, 0.0], [0.1, 0.2, 0.3, 0.4]])
    ics = rank_ic_by_row(score, realised)
    assert ics[0] == pytest.approx(1.0) and np.isnan(ics[1]) and ics[2] == pytest.approx(-1.0)


def test_the_probability_map_is_the_base_rate_without_signal_and_moves_with_one() -> None:
    """Synthetic samples (unit test): a planted score gets a positive slope, noise gets about none."""
    score, realised = _planted(3, t=200, n=20)
    z = cross_sectional_z(score).ravel()
    up = (realised.ravel() > 0).astype(np.int64)
    slope = fit_slope(z, up, 0.5)
    assert slope > 0.2
    noise = fit_slope(np.random.default_rng(4).normal(size=z.size), up, 0.5)
    assert noise < 0.1
    p = outperform_probability(np.zeros(3), 0.4, slope)
    np.testing.assert_allclose(p, 0.4)
    assert fit_slope(-z, up, 0.5) == 0.0  # an inverted ranker is not flipped into a good one


def test_lightgbm_learns_a_planted_feature_and_is_deterministic() -> None:
    """Synthetic features (unit test): one column carries the excess return; the trees find it, twice alike."""
    spec = cross_section_spec("1d", small=True)
    f = len(spec.names)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6000, f)).astype(np.float32)
    y = 0.01 * x[:, 7] + 0.01 * rng.normal(size=6000)
    a = CrossSectionModel(spec).fit(x[:4000], y[:4000], x[4000:5000], y[4000:5000])
    b = CrossSectionModel(spec).fit(x[:4000], y[:4000], x[4000:5000], y[4000:5000])
    pa, pb = a.scores(x[5000:]), b.scores(x[5000:])
    np.testing.assert_array_equal(pa, pb)
    ic = rank_ic_by_row(pa.reshape(50, 20), y[5000:].reshape(50, 20))
    assert np.nanmean(ics := ic) > 0.5, ics


@pytest.fixture(scope="module")
def trained() -> object:
    """A tiny lgbm trained on real daily bars of six symbols."""
    bars = daily_bars(SYMBOLS, "2004-01-01", "2010-01-01")
    return fit_cross_section(bars, cross_section_spec("1d", small=True), CostSettings())


def test_training_on_real_bars_is_deterministic_and_records_ic_and_the_gate(trained: object) -> None:
    bars = daily_bars(SYMBOLS, "2004-01-01", "2010-01-01")
    again = fit_cross_section(bars, cross_section_spec("1d", small=True), CostSettings())
    first = trained
    drop = lambda m: {k: v for k, v in m.items() if k != "fit"}  # noqa: E731 - wall time differs run to run
    assert drop(first.metrics) == drop(again.metrics)  # type: ignore[attr-defined]
    assert first.model.booster.model_to_string() == again.model.booster.model_to_string()  # type: ignore[attr-defined]
    market = again.market
    x = features_of(market, again.model.spec)[-300:].reshape(-1, len(feature_names()))
    np.testing.assert_array_equal(first.model.scores(x), again.model.scores(x))  # type: ignore[attr-defined]
    metrics = again.metrics
    for window in ("validation", "holdout"):
        for key in ("icir", "t_stat", "dates"):
            assert key in metrics[window]
    assert metrics["validation"]["dates"] > 100
    gate = gate_of(metrics)
    assert gate is not None and gate.n == metrics["samples"]["val"]
    excess = excess_labels(market)
    np.testing.assert_allclose(np.nansum(excess, axis=1)[np.isfinite(excess).any(axis=1)], 0.0, atol=1e-12)


def test_a_registered_lgbm_version_loads_health_checked_and_predicts_the_same(trained: object, tmp_path: Path) -> None:
    registry = Registry(tmp_path, revision=lambda: None)
    version = register_cross_section(trained, registry, "1d")  # type: ignore[arg-type]
    manifest = registry.manifest("lgbm", version)
    assert manifest.config["family"] == "lgbm" and manifest.fallback["class_prior"][1] == trained.model.prior  # type: ignore[attr-defined]
    assert manifest.metrics["gate"]["n"] > 0 and manifest.schema_hash == CrossSectionSpec().schema_hash()
    loaded = load_version(registry, "lgbm", version, manifest.schema_hash)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(len(SYMBOLS), len(feature_names()))).astype(np.float32)
    ours = trained.model.predict_array(x)  # type: ignore[attr-defined]
    theirs = loaded.predict(x)
    np.testing.assert_array_equal(ours["probs"], theirs["probs"])
    np.testing.assert_allclose(theirs["probs"].sum(axis=1), 1.0)
    handle = ModelHandle(registry, "lgbm", expected_schema=manifest.schema_hash)
    np.testing.assert_array_equal(handle.predict(x)["score"], ours["score"])
    assert handle.health.status == "ok"
    other = ModelHandle(registry, "lgbm", expected_schema="0" * 64)  # a different feature set: never fed
    assert other.get().version == "baseline" and other.predict(x)["probs"].shape == (len(SYMBOLS), 2)


def test_the_gate_sees_cross_fitted_probabilities_so_a_noise_ranker_is_refused() -> None:
    """Synthetic panels (unit test): with the slope judged on the half it was not fitted on, a score that
    does not rank is refused by the quality gate and a planted one passes."""
    from papertrader.models.crosssection import cross_fitted_probability
    from papertrader.models.gate import evaluate_gate

    def gate(strength: float, seed: int) -> bool:
        score, realised = _planted(seed, t=300, n=8, strength=strength)
        excess = realised - realised.mean(axis=1, keepdims=True)
        rows = np.repeat(np.arange(300), 8)
        z = cross_sectional_z(score).ravel()
        up = (excess.ravel() > 0).astype(np.int64)
        p, _ = cross_fitted_probability(z, up, rows, 0.5, horizon=5)
        probs = np.stack([1 - p, p], axis=1)
        return evaluate_gate(probs, up, np.array([0.5, 0.5]), 1, score.ravel(), excess.ravel(), rows).passed

    assert gate(0.3, 11)
    assert not any(gate(0.0, seed) for seed in range(12, 20))
