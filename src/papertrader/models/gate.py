"""The quality gate: a version that learned nothing must never vote.

A model's validation predictions (then its held-out test predictions, `both_windows`) are scored against
the cheapest honest alternative, the base-rate predictor (the training class frequencies, the same for every
row). A version passes only when its P(up)
moves (standard deviation over time and symbols above `min_std`) and its log loss beats the base rate's on
the same rows. Accuracy against the majority class (with a one-sided binomial p-value) and rank IC are
recorded beside them for the reader; they do not decide, because a calibrated model can beat the base
rate's log loss without changing the argmax.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # reading a stored gate (CLI, API) needs neither numpy nor scipy
    from papertrader.core.arrays import FloatArray, IntArray

MIN_PREDICTION_STD: Final = 0.02
_EPS: Final = 1e-12


@dataclass(frozen=True, slots=True)
class GateResult:
    """What a version scored on its validation window and whether that earns it a vote."""

    passed: bool
    prediction_std: float
    log_loss: float
    base_log_loss: float
    accuracy: float
    majority_accuracy: float
    p_value: float
    rank_ic: float
    n: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for manifest.json (NaN becomes None so the JSON stays strict)."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateResult:
        """Rebuild from `to_dict` (None back to NaN)."""
        floats = ("prediction_std", "log_loss", "base_log_loss", "accuracy", "majority_accuracy", "p_value", "rank_ic")
        return cls(
            passed=bool(data["passed"]),
            n=int(data["n"]),
            reason=str(data["reason"]),
            **{k: math.nan if data.get(k) is None else float(data[k]) for k in floats},
        )

    def note(self, member: str) -> str:
        """The sentence the board, the decisions and compare show for this member."""
        verdict = "votes" if self.passed else "left out"
        return f"{member}: {verdict}, {self.reason}"


def _log_loss(probs: FloatArray, y: IntArray) -> float:
    """Mean negative log probability of the true class, clipped away from 0."""
    import numpy as np

    p = np.clip(probs[np.arange(y.size), y], _EPS, 1.0)
    return float(-np.mean(np.log(p)))


def _rank_ic(score: FloatArray, forward: FloatArray, groups: IntArray | None) -> float:
    """Mean cross-sectional Spearman IC per group (time row) when given, else pooled; NaN without evidence."""
    import numpy as np
    from scipy.stats import spearmanr  # imported here: reading a stored gate (CLI, board, API) needs no scipy

    ok = np.isfinite(score) & np.isfinite(forward)
    if groups is None:
        if ok.sum() < 3 or np.ptp(score[ok]) == 0 or np.ptp(forward[ok]) == 0:
            return math.nan
        return float(spearmanr(score[ok], forward[ok]).statistic)
    ics: list[float] = []
    for g in np.unique(groups[ok]):
        sel = ok & (groups == g)
        if sel.sum() >= 3 and np.ptp(score[sel]) > 0 and np.ptp(forward[sel]) > 0:
            ics.append(float(spearmanr(score[sel], forward[sel]).statistic))
    return float(np.mean(ics)) if ics else math.nan


def evaluate_gate(
    probs: FloatArray,
    y: IntArray,
    prior: FloatArray,
    up_index: int,
    score: FloatArray | None = None,
    forward: FloatArray | None = None,
    groups: IntArray | None = None,
    min_std: float = MIN_PREDICTION_STD,
) -> GateResult:
    """Score validation probabilities against the base-rate predictor and decide whether the version may vote.

    probs: (n, k) class probabilities; y: (n,) true class index; prior: (k,) training class frequencies (the
    base-rate predictor); up_index: the column holding P(up); score/forward: a ranking score and the realised
    forward return for rank IC (groups: the time row of each sample for a cross-sectional IC).
    """
    import numpy as np
    from scipy.stats import binomtest

    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    prior = np.asarray(prior, dtype=np.float64)
    n = int(y.size)
    if n == 0 or probs.shape != (n, prior.size) or not np.isfinite(probs).all():
        return GateResult(
            False, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, n, "no validation predictions"
        )
    prior = np.clip(prior, _EPS, None)
    prior = prior / prior.sum()
    std = float(np.std(probs[:, up_index]))
    loss = _log_loss(probs, y)
    base = _log_loss(np.broadcast_to(prior, probs.shape), y)
    pred = np.argmax(probs, axis=1)
    hits = int(np.sum(pred == y))
    majority = int(np.argmax(prior))
    majority_acc = float(np.mean(y == majority))
    p_value = float(binomtest(hits, n, majority_acc, alternative="greater").pvalue) if 0 < majority_acc < 1 else 1.0
    ic = math.nan if score is None or forward is None else _rank_ic(score, forward, groups)
    if std <= min_std:
        passed, reason = False, f"predictions do not move (P(up) std {std:.3f} <= {min_std:.2f})"
    elif not loss < base:
        passed, reason = False, f"validation log loss {loss:.3f} >= base rate {base:.3f}"
    else:
        passed, reason = True, f"validation log loss {loss:.3f} < base rate {base:.3f}, P(up) std {std:.3f}"
    return GateResult(passed, std, loss, base, hits / n, majority_acc, p_value, ic, n, reason)


def both_windows(validation: GateResult, test: GateResult | None) -> GateResult:
    """One verdict from the validation window and the held-out test window: a version votes only if it passes both.

    The validation rows already chose the epoch and the temperature, so passing there alone is weak evidence
    (a production LSTM on the bundled data passed validation, 0.798 < 0.805, and lost to the base rate on the
    test rows, 0.897 vs 0.785). The test rows end before anything the board trades (models.holdout), so judging
    on them costs no out-of-sample data. The numbers shown are those of the window that decided.
    """
    if test is None or not validation.passed:
        return validation
    if not test.passed:
        return GateResult(**{**asdict(test), "reason": f"held-out test {test.reason.removeprefix('validation ')}"})
    return GateResult(
        **{
            **asdict(validation),
            "reason": f"{validation.reason}; held-out test log loss {test.log_loss:.3f} < {test.base_log_loss:.3f}",
        }
    )


def gate_windows(validation: GateResult, test: GateResult | None) -> dict[str, Any]:
    """The stored gate: one verdict over both windows (`both_windows`), each window's own record beside it."""
    out = both_windows(validation, test).to_dict()
    out["windows"] = {"validation": validation.to_dict(), "test": None if test is None else test.to_dict()}
    return out


def gate_of(metrics: dict[str, Any]) -> GateResult | None:
    """The gate a registered version recorded (None for versions trained before the gate existed)."""
    raw = metrics.get("gate")
    return GateResult.from_dict(raw) if isinstance(raw, dict) else None


NO_GATE_REASON: Final = "no quality-gate record (trained before the gate existed): retrain it"
