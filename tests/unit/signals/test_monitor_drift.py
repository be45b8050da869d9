"""Feature drift (PSI, KS) on SYNTHETIC feature panels drawn from known distributions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.config.monitor import MonitorSettings
from papertrader.features.view import FeatureView
from papertrader.signals.drift import DriftMonitor, bin_shares, fit_reference, ks_statistic, psi, score
from papertrader.signals.monitor import DRIFT

TS = datetime(2021, 1, 4, 21, tzinfo=UTC)


def test_psi_is_about_zero_on_the_same_distribution() -> None:
    rng = np.random.default_rng(0)
    ref = fit_reference(rng.normal(0, 1, 20_000), bins=10)
    assert ref.expected == pytest.approx(np.full(10, 0.1), abs=1e-3)
    same = score("x", ref, rng.normal(0, 1, 5_000))
    assert same.psi < 0.01
    assert same.ks < 0.03


def test_psi_is_large_on_a_shifted_or_widened_distribution() -> None:
    rng = np.random.default_rng(1)
    ref = fit_reference(rng.normal(0, 1, 20_000), bins=10)
    assert score("x", ref, rng.normal(1.0, 1, 5_000)).psi > 0.5
    assert score("x", ref, rng.normal(0, 2.0, 5_000)).psi > 0.25
    assert score("x", ref, rng.normal(1.0, 1, 5_000)).ks > 0.3


def test_psi_matches_the_formula_and_survives_empty_bins() -> None:
    e = np.array([0.5, 0.5])
    a = np.array([0.9, 0.1])
    assert psi(e, a) == pytest.approx(0.4 * np.log(0.9 / 0.5) - 0.4 * np.log(0.1 / 0.5))
    assert np.isfinite(psi(e, np.array([1.0, 0.0])))


def test_discrete_features_get_unique_edges_and_shares_that_sum_to_one() -> None:
    weekday = np.tile(np.arange(5, dtype=np.float64), 200)
    ref = fit_reference(weekday, bins=10)
    assert np.all(np.diff(ref.edges) > 0)
    assert ref.expected.sum() == pytest.approx(1.0)
    assert score("dow", ref, weekday[:100]).psi == pytest.approx(0.0, abs=1e-12)
    assert bin_shares(ref.edges, np.array([np.nan, 2.0])).sum() == pytest.approx(1.0)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=200), st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=200)
)
def test_ks_is_a_distance_in_zero_one(a: list[float], b: list[float]) -> None:
    ks = ks_statistic(np.sort(np.array(a)), np.array(b))
    assert 0.0 <= ks <= 1.0
    assert ks_statistic(np.sort(np.array(a)), np.array(a)) == 0.0


def _panels(rng: np.random.Generator, t: int, n: int, shift_from: int) -> dict[str, np.ndarray]:
    """Two synthetic features; 'momentum' shifts by +2 std from row shift_from on, 'volume_z' never does."""
    momentum = rng.normal(0, 1, (t, n))
    momentum[shift_from:] += 2.0
    return {"momentum": momentum, "volume_z": rng.normal(0, 1, (t, n))}


def test_drift_monitor_fits_on_the_training_window_only() -> None:
    rng = np.random.default_rng(2)
    panels = _panels(rng, 600, 4, shift_from=400)
    s = MonitorSettings(drift_window=40, drift_threshold=0.25)
    fitted = DriftMonitor(s)
    fitted.fit(panels, 0, 300)
    scrambled = {k: v.copy() for k, v in panels.items()}
    for v in scrambled.values():
        v[300:] = rng.normal(50, 9, v[300:].shape)  # rows outside the training window
    other = DriftMonitor(s)
    other.fit(scrambled, 0, 300)
    for name in panels:
        assert np.array_equal(fitted.references[name].edges, other.references[name].edges)
        assert np.array_equal(fitted.references[name].expected, other.references[name].expected)


def test_drift_monitor_flags_the_shifted_feature_and_only_after_the_shift() -> None:
    rng = np.random.default_rng(3)
    panels = _panels(rng, 600, 4, shift_from=400)
    monitor = DriftMonitor(MonitorSettings(drift_window=40, drift_threshold=0.25))
    monitor.fit(panels, 0, 300)
    flagged: list[tuple[int, dict[str, Any]]] = []
    for k in range(300, 600):
        for event in monitor.check(TS, FeatureView(panels, k)):
            assert event.kind == DRIFT
            json.dumps(event.payload, allow_nan=False)
            flagged.append((k, dict(event.payload)))
    assert flagged, "the shift was never reported"
    first_k, payload = flagged[0]
    assert 400 <= first_k <= 410  # the 40-row window needs a few shifted rows, and never sees them early
    assert [f["name"] for f in payload["features"]] == ["momentum"]
    assert payload["features"][0]["psi"] > 0.25
    assert len(flagged) == 1  # reported when the drifted set changes, not every cycle


def test_drift_scores_at_cycle_k_ignore_rows_after_k() -> None:
    rng = np.random.default_rng(4)
    panels = _panels(rng, 200, 3, shift_from=150)
    monitor = DriftMonitor(MonitorSettings(drift_window=30))
    monitor.fit(panels, 0, 100)
    before = monitor.scores(FeatureView(panels, 120))
    for v in panels.values():
        v[121:] = 1e9
    assert monitor.scores(FeatureView(panels, 120)) == before


def test_an_all_missing_feature_is_skipped_and_too_few_recent_values_give_nan() -> None:
    panels = {"empty": np.full((50, 2), np.nan), "x": np.arange(100, dtype=np.float64).reshape(50, 2)}
    monitor = DriftMonitor()
    monitor.fit(panels, 0, 40)
    assert set(monitor.references) == {"x"}
    assert np.isnan(score("x", monitor.references["x"], np.array([1.0, 2.0])).psi)
    with pytest.raises(ValueError):
        monitor.fit(panels, 10, 10)
