"""Classification scores against hand-computed values and independent implementations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from papertrader.models.metrics import (
    accuracy,
    balanced_accuracy,
    binomial_sf,
    brier,
    log_loss,
    rank_ic,
    score_classifier,
)


def test_binomial_tail_matches_exact_sum() -> None:
    n, p = 40, 0.55
    for k in (0, 10, 22, 30, 40):
        exact = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
        assert binomial_sf(k, n, p) == pytest.approx(exact, rel=1e-9, abs=1e-15)
    assert binomial_sf(5_200, 10_000, 0.5) < 1e-4  # 52% over 10,000 tries is not luck


def test_accuracy_and_balanced_accuracy() -> None:
    y = np.array([2, 2, 2, 2, 0, 0, 1, 1])
    always_up = np.full(8, 2)
    assert accuracy(always_up, y) == 0.5
    assert balanced_accuracy(always_up, y) == pytest.approx(1 / 3)
    assert balanced_accuracy(y, y) == 1.0


def test_log_loss_and_brier_of_known_probabilities() -> None:
    probs = np.array([[0.2, 0.3, 0.5], [0.7, 0.2, 0.1]])
    y = np.array([2, 0])
    assert log_loss(probs, y) == pytest.approx(-(math.log(0.5) + math.log(0.7)) / 2)
    expected = ((0.2**2 + 0.3**2 + 0.5**2) + (0.3**2 + 0.2**2 + 0.1**2)) / 2
    assert brier(probs, y) == pytest.approx(expected)


def test_rank_ic_is_spearman_with_ties() -> None:
    rng = np.random.default_rng(1)
    score = np.round(rng.standard_normal(300), 1)
    ret = 0.3 * score + rng.standard_normal(300)
    expected = pd.Series(score).rank().corr(pd.Series(ret).rank())
    assert rank_ic(score, ret) == pytest.approx(expected)
    assert math.isnan(rank_ic(np.array([1.0]), np.array([2.0])))


def test_score_uses_the_majority_hit_rate_as_the_p_value_reference() -> None:
    y = np.array([2] * 60 + [0] * 40)
    probs = np.tile([0.1, 0.1, 0.8], (100, 1))
    s = score_classifier(probs, y, 2, probs[:, 2] - probs[:, 0], np.zeros(100))
    assert s.accuracy == s.majority_accuracy == 0.6
    assert s.p_value > 0.4  # matching the baseline is not evidence of skill
