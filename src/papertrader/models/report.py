"""The walk-forward results table: every model beside the baselines, the seed target and the audit verdict."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from papertrader.models.audit import TARGETS, AuditResult, audit, beats_target, measured
from papertrader.models.data import Market
from papertrader.models.walkforward import FoldOutput, Mapper, ModelSummary, Plan, in_process, summarize, walk_forward


@dataclass
class FamilyReport:
    """One family's walk-forward: folds, the pooled table, the target comparison and the audit."""

    family: str
    interval: str
    symbols: tuple[str, ...]
    rows: list[ModelSummary]
    folds: list[dict[str, Any]]
    audit: AuditResult | None
    seconds: float
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def model_row(self) -> ModelSummary:
        """The family's own row (not a baseline)."""
        return next(r for r in self.rows if r.model == self.family)

    @property
    def target(self) -> tuple[str, float]:
        """(metric, seed target)."""
        return TARGETS[self.family]

    @property
    def beats_target(self) -> bool:
        """Whether the model's measured value is above its seed target."""
        return beats_target(self.family, self.model_row)

    @property
    def audit_status(self) -> str:
        """'not needed' below target; 'passed' or 'FAILED' otherwise."""
        if not self.beats_target:
            return "not needed (below target)"
        if self.audit is None:
            return "NOT RUN"
        return "passed" if self.audit.passed else "FAILED: leakage suspected"

    def to_json(self) -> dict[str, Any]:
        """Stable keys for --json."""
        metric, target = self.target
        return {
            "family": self.family,
            "interval": self.interval,
            "symbols": list(self.symbols),
            "seconds": self.seconds,
            "target": {"metric": metric, "value": target, "measured": measured(self.family, self.model_row)},
            "beats_target": self.beats_target,
            "audit": {"status": self.audit_status, **(self.audit.as_dict() if self.audit else {})},
            "folds": self.folds,
            "config": self.config,
            "models": [
                {
                    "model": r.model,
                    "classification": r.classification.as_dict() if r.classification else None,
                    "trading": r.trading.as_dict(),
                    "reversal_brier": r.reversal_brier,
                    "per_fold": r.per_fold,
                }
                for r in self.rows
            ],
        }


def build_report(
    market: Market, plan: Plan, mapper: Mapper = in_process, first_row: int = 0, run_audit: bool = True
) -> FamilyReport:
    """Run the walk-forward, pool it, and audit the model if it beat its seed target."""
    started = time.perf_counter()
    _, outputs = walk_forward(market, plan, mapper, first_row)
    rows = summarize(outputs)
    report = FamilyReport(
        family=plan.family,
        interval=market.inputs.interval,
        symbols=market.symbols,
        rows=rows,
        folds=[_fold_entry(o) for o in outputs],
        audit=None,
        seconds=0.0,
        config={
            "walk_forward": plan.folds.to_dict(),
            "long_short": plan.long_short,
            "band": market.band,
            "labels": market.label_spec.to_dict(),
            "model": _model_config(plan),
        },
    )
    if run_audit and report.beats_target:
        report.audit = audit(market, plan, mapper, first_row)
    report.seconds = time.perf_counter() - started
    return report


def _model_config(plan: Plan) -> dict[str, Any]:
    """The model's own settings (the feature spec is summarised by its column count)."""
    if plan.sequence is not None:
        spec, features = plan.sequence.to_dict(), plan.sequence.features
    elif plan.ppo is not None:
        spec, features = plan.ppo.to_dict(), plan.ppo.features
    else:
        return {}
    spec.pop("features", None)
    spec["n_feature_columns"] = len(features.names())
    return spec


def _fold_entry(out: FoldOutput) -> dict[str, Any]:
    return {
        **out.fold.to_dict(),
        "train_seconds": out.train_seconds,
        "samples_per_second": out.samples_per_second,
        **out.notes,
    }


def _f(value: float | None, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, fmt)


def render(report: FamilyReport) -> Table:
    """A Rich table: one row per model, classification then trading columns, target and audit below."""
    metric, target = report.target
    title = (
        f"{report.family.upper()} walk-forward, {report.interval} bars, {', '.join(report.symbols)} "
        f"({len(report.folds)} folds, net of costs)"
    )
    table = Table(title=title)
    for col in ("model", "acc", "bal acc", "majority", "p-value", "log loss", "brier", "rank IC"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for col in ("sharpe", "return", "max DD", "trades"):
        table.add_column(col, justify="right")
    for r in report.rows:
        c = r.classification
        table.add_row(
            r.model,
            _f(c.accuracy if c else None, ".3f"),
            _f(c.balanced_accuracy if c else None, ".3f"),
            _f(c.majority_accuracy if c else None, ".3f"),
            _f(c.p_value if c else None, ".3g"),
            _f(c.log_loss if c else None, ".3f"),
            _f(c.brier if c else None, ".3f"),
            _f(c.rank_ic if c else None, ".3f"),
            _f(r.trading.sharpe, ".2f"),
            _f(r.trading.total_return, ".1%"),
            _f(r.trading.max_drawdown, ".1%"),
            str(r.trading.trades),
        )
    value = measured(report.family, report.model_row)
    table.caption = f"seed target: {metric} > {target:g}; measured {value:.3f} | leakage audit: {report.audit_status}"
    return table
