"""Temperature scaling: one number, fitted on the validation window, that makes class probabilities honest.

Dividing logits by T > 1 softens over-confident probabilities; T < 1 sharpens timid ones. Raising the
probabilities to 1/T and renormalising is the same operation (the log-sum-exp shift cancels), so it also
applies to models that only expose probabilities. The predicted class never changes.
"""

from __future__ import annotations

import numpy as np

from papertrader.core.arrays import FloatArray, IntArray

_EPS = 1e-12


def apply_temperature(probs: FloatArray, temperature: float) -> FloatArray:
    """Probabilities softened (T > 1) or sharpened (T < 1), rows summing to 1."""
    if temperature == 1.0:
        return probs
    logp = np.log(np.clip(probs, _EPS, 1.0)) / temperature
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    return np.asarray(p / p.sum(axis=1, keepdims=True), dtype=np.float64)


def _nll(probs: FloatArray, y: IntArray, temperature: float) -> float:
    p = apply_temperature(probs, temperature)[np.arange(y.size), y]
    return float(-np.mean(np.log(np.clip(p, _EPS, 1.0))))


def fit_temperature(probs: FloatArray, y: IntArray, low: float = 0.25, high: float = 8.0) -> float:
    """The temperature minimising the log loss of (probs, y) on a log grid, refined once around the best."""
    if y.size == 0:
        return 1.0
    grid = np.exp(np.linspace(np.log(low), np.log(high), 61))
    losses = [_nll(probs, y, float(t)) for t in grid]
    best = int(np.argmin(losses))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
    fine = np.exp(np.linspace(np.log(lo), np.log(hi), 21))
    fine_losses = [_nll(probs, y, float(t)) for t in fine]
    return float(fine[int(np.argmin(fine_losses))])
