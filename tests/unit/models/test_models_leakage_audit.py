"""The leakage audit: triggered by beating a target, perturbed runs fall to chance, look-ahead is caught."""

from __future__ import annotations

import numpy as np
import pytest
from models_bars import market

from papertrader.config.settings import CostSettings
from papertrader.features.inputs import FeatureInputs
from papertrader.features.spec import PipelineSpec
from papertrader.models import audit as audit_module
from papertrader.models import report as report_module
from papertrader.models.audit import truncation_check
from papertrader.models.data import LabelSpec, featurize, transform
from papertrader.models.report import build_report
from papertrader.models.sequence import SequenceSpec
from papertrader.models.trainer import TrainConfig
from papertrader.models.validation import WalkForwardConfig
from papertrader.models.walkforward import Plan


def _centered_mean(inputs: FeatureInputs) -> np.ndarray:
    """A leaky feature: a moving average centred on the bar, so it averages in the next 5 closes."""
    close = inputs.prices.close
    out = np.full_like(close, np.nan)
    for t in range(close.shape[0]):
        out[t] = np.nanmean(close[max(0, t - 5) : t + 6], axis=0)
    return out[:, :, None].astype(np.float32)


def test_truncation_check_flags_a_centred_moving_average_and_passes_the_pipeline() -> None:
    m = market()
    leaky = truncation_check(m, _centered_mean, [300, 400])
    assert not leaky.passed and leaky.value > 1e-3
    fitted, _ = featurize(m, PipelineSpec(), (0, 300))
    honest = truncation_check(m, lambda inputs: transform(fitted, inputs), [300, 400], lookback=10)
    assert honest.passed and honest.value == 0.0


def test_beating_a_target_runs_the_audit_and_an_honest_model_falls_to_chance(monkeypatch: pytest.MonkeyPatch) -> None:
    m = market()
    spec = SequenceSpec(
        family="lstm",
        interval="1d",
        lookback=5,
        hidden=4,
        layers=2,
        labels=LabelSpec("direction", horizon=5),
        train=TrainConfig(epochs=1, batch_size=128, max_batches_per_epoch=2),
    )
    plan = Plan(
        "lstm",
        WalkForwardConfig(n_folds=1, test_rows=150, val_rows=60, train_rows=300),
        CostSettings(),
        sequence=spec,
        baselines=False,
    )
    zero_target = {"lstm": ("accuracy", 0.0)}
    monkeypatch.setattr(audit_module, "TARGETS", zero_target)
    monkeypatch.setattr(report_module, "TARGETS", zero_target)
    report = build_report(m, plan)
    assert report.beats_target and report.audit is not None
    checks = {c.name: c for c in report.audit.checks}
    assert set(checks) == {"shuffle", "future_shift", "truncation"}
    for name in ("shuffle", "future_shift"):
        c = checks[name]
        assert c.passed, (name, c.value, c.chance)
    assert checks["truncation"].value == 0.0
    assert report.audit_status == ("passed" if report.audit.passed else "FAILED: leakage suspected")
    assert report.to_json()["audit"]["status"] == report.audit_status
