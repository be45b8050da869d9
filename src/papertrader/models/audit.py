"""Seed targets and the leakage audit a result must pass before anyone believes it.

Targets (from the design): LSTM accuracy > 55%, GRU accuracy > 60%, PPO Sharpe > 1.5. They are shown
beside the measured values whatever those are. A result that beats its target is re-run twice with the
link between inputs and outcomes destroyed:

* shuffle: the training and validation labels are permuted within each symbol while the test keeps its
  true labels (the agent: the feature rows are permuted in time);
* future shift: the labels are replaced by the labels `shift` rows later (the agent: the features by those
  of `shift` rows earlier, which still look only backwards), far beyond the horizon and the look-back, so
  the inputs describe another time than the outcome.

Both must fall to chance: for a classifier, accuracy within `tolerance` of the majority baseline or a
p-value above `alpha`; for the agent, a Sharpe ratio no better than buy-and-hold of the same folds (what a
long-only agent gets by always holding) plus `sharpe_margin`. If either does not, the pipeline leaks.

A third check, truncation, looks for look-ahead in the input path directly: the model inputs at sampled
test rows, recomputed from data cut off right after each row, must equal those computed from all data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from papertrader.features.inputs import FeatureInputs
from papertrader.models.data import Market, featurize, transform
from papertrader.models.validation import make_folds
from papertrader.models.walkforward import (
    Mapper,
    ModelSummary,
    Perturbation,
    Plan,
    in_process,
    summarize,
    walk_forward,
)

TARGETS: Final[dict[str, tuple[str, float]]] = {
    "lstm": ("accuracy", 0.55),
    "gru": ("accuracy", 0.60),
    "ppo": ("sharpe", 1.5),
}


def measured(family: str, row: ModelSummary) -> float:
    """The value compared with the family's target."""
    metric, _ = TARGETS[family]
    if metric == "accuracy":
        return row.classification.accuracy if row.classification is not None else float("nan")
    return row.trading.sharpe


def beats_target(family: str, row: ModelSummary) -> bool:
    """Whether the measured value is above the seed target."""
    _, target = TARGETS[family]
    return measured(family, row) > target


@dataclass(frozen=True)
class Check:
    """One perturbed re-run and whether it fell to chance."""

    name: str
    value: float
    chance: float
    passed: bool


@dataclass(frozen=True)
class AuditResult:
    """Every check; `passed` only if all of them did (perturbed runs at chance, no look-ahead)."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """True when every check fell to chance."""
        return all(c.passed for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {"passed": self.passed, "checks": [asdict(c) for c in self.checks]}


def truncation_check(
    market: Market,
    transform: Callable[[FeatureInputs], npt.NDArray[np.float32]],
    rows: Sequence[int],
    lookback: int = 1,
    atol: float = 1e-6,
) -> Check:
    """Max difference between inputs at each row computed from all data and from data up to that row."""
    full = transform(market.inputs)
    worst = 0.0
    for t in rows:
        cut = transform(market.inputs.head(int(t) + 1))
        lo = max(0, int(t) - lookback + 1)
        diff = np.abs(full[lo : int(t) + 1].astype(np.float64) - cut[lo : int(t) + 1].astype(np.float64))
        worst = max(worst, float(np.nanmax(diff)) if diff.size else 0.0)
    return Check("truncation", worst, 0.0, worst <= atol)


def _row(rows: list[ModelSummary], name: str) -> ModelSummary:
    return next(r for r in rows if r.model == name)


def audit(
    market: Market,
    plan: Plan,
    mapper: Mapper = in_process,
    first_row: int = 0,
    tolerance: float = 0.02,
    alpha: float = 0.05,
    sharpe_margin: float = 0.5,
) -> AuditResult:
    """Re-run the walk-forward with shuffled and with future-shifted targets, then check for look-ahead."""
    lookback = plan.sequence.lookback if plan.sequence is not None else 1
    shift = 4 * (plan.folds.horizon + lookback) + plan.folds.gap
    checks = []
    runs: tuple[tuple[str, Perturbation], ...] = (("shuffle", "shuffle_labels"), ("future_shift", "future_shift"))
    for name, perturbation in runs:
        perturbed = replace(plan, perturbation=perturbation, shift=shift, baselines=plan.ppo is not None)
        _, outputs = walk_forward(market, perturbed, mapper, first_row)
        rows = summarize(outputs)
        model = _row(rows, plan.family)
        if plan.ppo is not None:
            chance = max(_row(rows, "buy_and_hold").trading.sharpe, 0.0)
            value = model.trading.sharpe
            passed = value <= chance + sharpe_margin
        else:
            assert model.classification is not None
            c = model.classification
            value, chance = c.accuracy, c.majority_accuracy
            passed = value <= chance + tolerance or c.p_value > alpha
        checks.append(Check(name, value, chance, passed))
    folds = make_folds(len(market), plan.folds, first_row)
    features = plan.sequence.features if plan.sequence is not None else plan.ppo.features if plan.ppo else None
    if features is not None and folds:
        last = folds[-1]
        fitted, _ = featurize(market, features, last.train)
        test = last.rows("test")
        sample = np.unique(np.linspace(test[0], test[-1], num=min(3, test.size)).astype(np.int64))
        checks.append(truncation_check(market, lambda inputs: transform(fitted, inputs), sample.tolist(), lookback))
    return AuditResult(tuple(checks))
