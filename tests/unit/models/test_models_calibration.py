"""Temperature scaling recovers a known over-confidence and never changes the predicted class."""

from __future__ import annotations

import numpy as np
import pytest

from papertrader.models.calibration import apply_temperature, fit_temperature


def test_fitted_temperature_undoes_known_overconfidence() -> None:
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((20_000, 3))
    honest = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=p) for p in honest])
    overconfident = apply_temperature(honest, 1 / 2.5)  # probabilities as if logits were 2.5x larger
    t = fit_temperature(overconfident, y)
    assert t == pytest.approx(2.5, rel=0.1)
    np.testing.assert_allclose(apply_temperature(overconfident, t), honest, atol=0.03)


def test_temperature_keeps_the_argmax_and_rows_normalised() -> None:
    probs = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    for t in (0.3, 1.0, 4.0):
        out = apply_temperature(probs, t)
        np.testing.assert_array_equal(out.argmax(axis=1), probs.argmax(axis=1))
        np.testing.assert_allclose(out.sum(axis=1), 1.0)
