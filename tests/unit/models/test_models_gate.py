"""The quality gate refuses versions whose predictions do not move or do not beat the base rate.

Synthetic probabilities and labels, drawn from a seeded generator inside each test, stand in for a model's
validation output: the gate is a pure function of arrays.
"""

from __future__ import annotations

import math

import numpy as np

from papertrader.models.gate import GateResult, evaluate_gate, gate_of


def _labels(n: int, p_up: float, rng: np.random.Generator) -> np.ndarray:
    return (rng.random(n) < p_up).astype(np.int64)


def test_a_constant_predictor_is_refused_because_its_predictions_do_not_move() -> None:
    rng = np.random.default_rng(1)
    y = _labels(2_000, 0.55, rng)
    probs = np.tile([0.44, 0.56], (y.size, 1))
    gate = evaluate_gate(probs, y, np.array([0.45, 0.55]), up_index=1)
    assert not gate.passed
    assert gate.prediction_std < 1e-12
    assert "do not move" in gate.reason


def test_noise_that_moves_but_carries_no_information_loses_to_the_base_rate() -> None:
    rng = np.random.default_rng(2)
    y = _labels(5_000, 0.5, rng)
    up = np.clip(0.5 + rng.normal(0, 0.1, y.size), 0.01, 0.99)
    gate = evaluate_gate(np.column_stack([1 - up, up]), y, np.array([0.5, 0.5]), up_index=1)
    assert not gate.passed
    assert gate.prediction_std > 0.02
    assert gate.log_loss >= gate.base_log_loss
    assert gate.reason.startswith("validation log loss")


def test_an_informative_predictor_passes_and_records_accuracy_beside_the_majority() -> None:
    rng = np.random.default_rng(3)
    up = rng.uniform(0.2, 0.8, 5_000)
    y = (rng.random(up.size) < up).astype(np.int64)
    forward = (y - 0.5) + rng.normal(0, 1, y.size)
    gate = evaluate_gate(np.column_stack([1 - up, up]), y, np.array([0.5, 0.5]), 1, score=up, forward=forward)
    assert gate.passed
    assert gate.log_loss < gate.base_log_loss
    assert gate.accuracy > gate.majority_accuracy
    assert gate.p_value < 0.01
    assert gate.rank_ic > 0


def test_the_gate_round_trips_through_the_manifest_and_old_versions_have_none() -> None:
    gate = evaluate_gate(np.tile([0.5, 0.5], (10, 1)), np.zeros(10, dtype=np.int64), np.array([1.0, 0.0]), 1)
    stored = gate.to_dict()
    assert stored["rank_ic"] is None  # NaN is not valid JSON
    again = gate_of({"gate": stored})
    assert isinstance(again, GateResult)
    assert again.passed == gate.passed and again.reason == gate.reason and math.isnan(again.rank_ic)
    assert gate_of({"holdout": {}}) is None
    assert again.note("lstm").startswith("lstm: left out, ")


def test_the_cross_sectional_rank_ic_averages_per_time_row() -> None:
    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(200), 10)
    score = rng.normal(size=groups.size)
    forward = score + rng.normal(0, 0.5, groups.size) + np.repeat(rng.normal(0, 5, 200), 10)  # market moves
    probs = np.column_stack([np.full(groups.size, 0.5), np.full(groups.size, 0.5)])
    gate = evaluate_gate(probs, np.zeros(groups.size, dtype=np.int64), np.array([0.5, 0.5]), 1, score, forward, groups)
    assert gate.rank_ic > 0.7  # per-row IC ignores the common market move that a pooled IC would mix in


def _gate(passed: bool, loss: float, base: float, reason: str) -> GateResult:
    return GateResult(passed, 0.1, loss, base, 0.5, 0.5, 0.5, 0.0, 100, reason)


def test_a_version_that_passes_validation_but_loses_on_the_held_out_test_rows_is_refused() -> None:
    from papertrader.models.gate import both_windows, gate_windows

    val = _gate(True, 0.798, 0.805, "validation log loss 0.798 < base rate 0.805, P(up) std 0.096")
    test = _gate(False, 0.897, 0.785, "validation log loss 0.897 >= base rate 0.785")
    verdict = both_windows(val, test)
    assert not verdict.passed
    assert verdict.reason == "held-out test log loss 0.897 >= base rate 0.785"
    assert verdict.log_loss == 0.897  # the numbers of the window that decided
    stored = gate_windows(val, test)
    assert stored["passed"] is False
    assert stored["windows"]["validation"]["passed"] is True and stored["windows"]["test"]["passed"] is False
    assert gate_of({"gate": stored}) == verdict


def test_passing_both_windows_votes_and_a_validation_failure_decides_alone() -> None:
    from papertrader.models.gate import both_windows

    good_val = _gate(True, 0.70, 0.72, "validation ok")
    good_test = _gate(True, 0.69, 0.71, "test ok")
    assert both_windows(good_val, good_test).passed
    assert "held-out test log loss 0.690 < 0.710" in both_windows(good_val, good_test).reason
    bad_val = _gate(False, 0.80, 0.72, "validation log loss 0.800 >= base rate 0.720")
    assert both_windows(bad_val, good_test) == bad_val
    assert both_windows(good_val, None) == good_val
