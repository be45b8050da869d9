"""Scoring of paper-trial windows: uptime, critical failures, the success criteria and honest pass rates.

Definitions (the trial's contract; tests pin them on crafted events):

* **Uptime** of a window = cycles that were *up* / cycles *scheduled*. Scheduled cycles are the bars of the
  window (one per session for daily bars). A cycle is up when the engine completed it (its ``cycle`` event
  was published) and, after applying every ``health`` event stamped at or before that cycle's close, no
  component's latest status is ``down``. A cycle that never ran (the run raised or stopped early) is down;
  ``degraded`` (e.g. a database backlog that loses nothing) is still up.
* **Critical failure**: each of these counts once per window: the run raised an exception; the drawdown kill
  switch fired (a ``risk.kill_switch`` event, or a ``halt`` event whose reason is the kill switch); the ledger
  rebuilt from the event log disagrees with the stored state (``engine/check.py``).
* **Baselines** of every window, on the same dates and symbols: equal-weight buy-and-hold (after its entry
  costs), buy-and-hold scaled to the window's realised volatility (a constant fraction of equity in
  buy-and-hold, rest cash; the fraction uses the strategy's ex-post volatility, so it is a reference, see
  ``portfolio/inference.py``), and the SMA trend baseline (``strategy.name = "trend"``) run over the window.
* **Criteria** (a window passes each one separately, and "all" when it passes all five): Sharpe > 0.8,
  max drawdown shallower than 8%, uptime > 99.5%, fewer than 1 critical failure, and **baselines**: a net
  return strictly above vol-matched buy-and-hold's *and* the trend baseline's on the same window (the trend
  comparison is skipped when the trial's strategy is the trend baseline itself). Sitting in cash passes the
  drawdown, uptime and failure criteria by doing nothing; it cannot pass this one (its volatility is 0, so
  its vol-matched buy-and-hold is cash too, and 0 is not above 0), nor the Sharpe one (its Sharpe is 0).
  A metric that could not be measured (NaN, the run raised) fails its criterion.
* **Pass rate** = windows that pass / windows run, with a Wilson score interval: the windows are a fixed,
  result-blind layout, never a chosen subset, so the rate is over every window that was laid out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import NormalDist
from typing import Any

import numpy as np

from papertrader.domain.events import DomainEvent, HaltChanged, HealthChanged, KillSwitchFired

DOWN = "down"
CRITERIA_NAMES: tuple[str, ...] = ("sharpe", "max_drawdown", "uptime", "critical_failures", "baselines", "all")


@dataclass(frozen=True)
class Criteria:
    """The seed's success criteria for one seven-day window (thresholds are strict inequalities)."""

    min_sharpe: float = 0.8
    max_drawdown: float = 0.08
    min_uptime: float = 0.995
    max_critical_failures: int = 0

    def to_json(self) -> dict[str, Any]:
        """Stable keys for the trial JSON."""
        return {
            "sharpe_above": self.min_sharpe,
            "max_drawdown_below": self.max_drawdown,
            "uptime_above": self.min_uptime,
            "critical_failures_below": self.max_critical_failures + 1,
            "baselines": "net return above vol-matched buy-and-hold and the trend baseline (same window)",
        }


def uptime(scheduled: int, cycles: Sequence[datetime], events: Iterable[DomainEvent]) -> float:
    """Share of scheduled cycles completed with no component DOWN (see the module docstring)."""
    if scheduled <= 0:
        raise ValueError("a window schedules at least one cycle")
    health = sorted((e for e in events if isinstance(e, HealthChanged)), key=lambda e: e.ts)
    status: dict[str, str] = {}
    i, up = 0, 0
    for close in sorted(cycles)[:scheduled]:
        while i < len(health) and health[i].ts <= close:
            status[health[i].component] = health[i].status
            i += 1
        if DOWN not in status.values():
            up += 1
    return up / scheduled


def kill_switch_fired(events: Iterable[DomainEvent]) -> str | None:
    """The kill switch's halt reason when it fired in these events, else None."""
    for event in events:
        if isinstance(event, KillSwitchFired):
            drawdown = math.nan if event.drawdown is None else event.drawdown
            return f"kill switch: drawdown {drawdown:.2%}"
        if isinstance(event, HaltChanged) and event.halted and event.reason.startswith("kill switch"):
            return event.reason
    return None


def critical_failures(
    raised: str | None, events: Iterable[DomainEvent], check_problems: Sequence[str]
) -> tuple[str, ...]:
    """Every critical failure of one window, each a sentence an operator can act on."""
    out: list[str] = []
    if raised is not None:
        out.append(f"run raised: {raised}")
    halt = kill_switch_fired(events)
    if halt is not None:
        out.append(f"halted by the {halt}")
    if check_problems:
        out.append("ledger check mismatch: " + "; ".join(check_problems))
    return tuple(out)


@dataclass(frozen=True)
class WindowScore:
    """One window's numbers beside buy-and-hold, its uptime and critical failures."""

    index: int
    run_id: str
    start: datetime
    end: datetime
    scheduled: int
    cycles: int
    total_return: float
    sharpe: float
    max_drawdown: float
    trades: int
    fees_paid: float
    bench_total_return: float
    bench_sharpe: float
    bench_max_drawdown: float
    uptime: float
    failures: tuple[str, ...]
    equity: tuple[float, ...] = field(default=(), repr=False)
    bench_equity: tuple[float, ...] = field(default=(), repr=False)
    #: buy-and-hold scaled to this window's realised volatility (vm_fraction of equity in it, rest cash)
    vm_total_return: float = math.nan
    vm_sharpe: float = math.nan
    vm_max_drawdown: float = math.nan
    vm_fraction: float = math.nan
    #: the trend baseline over the same window (None: the trial's strategy is the trend baseline itself)
    trend_total_return: float | None = math.nan
    trend_sharpe: float | None = math.nan
    trend_max_drawdown: float | None = math.nan

    def passes(self, criteria: Criteria) -> dict[str, bool]:
        """Which criteria this window meets (NaN fails), and whether it meets all of them."""
        out = {
            "sharpe": bool(self.sharpe > criteria.min_sharpe),
            "max_drawdown": bool(abs(self.max_drawdown) < criteria.max_drawdown),
            "uptime": bool(self.uptime > criteria.min_uptime),
            "critical_failures": len(self.failures) <= criteria.max_critical_failures,
            "baselines": self.beat_baselines,
        }
        out["all"] = all(out.values())
        return out

    @property
    def beat_baselines(self) -> bool:
        """Net return strictly above vol-matched buy-and-hold's and the trend baseline's (NaN: no)."""
        beats_trend = self.trend_total_return is None or bool(self.total_return > self.trend_total_return)
        return bool(self.total_return > self.vm_total_return) and beats_trend

    @property
    def beat_buy_and_hold(self) -> bool:
        """True when the window's net return beat buy-and-hold of the same symbols (NaN: no)."""
        return bool(self.total_return > self.bench_total_return)

    def to_json(self, criteria: Criteria) -> dict[str, Any]:
        """Stable keys for the trial JSON (NaN becomes null)."""
        return {
            "index": self.index,
            "run_id": self.run_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "scheduled_cycles": self.scheduled,
            "cycles": self.cycles,
            "strategy": {
                "total_return": _num(self.total_return),
                "sharpe": _num(self.sharpe),
                "max_drawdown": _num(self.max_drawdown),
                "trades": self.trades,
                "fees_paid": _num(self.fees_paid),
            },
            "buy_and_hold": {
                "total_return": _num(self.bench_total_return),
                "sharpe": _num(self.bench_sharpe),
                "max_drawdown": _num(self.bench_max_drawdown),
            },
            "buy_and_hold_vol_matched": {
                "total_return": _num(self.vm_total_return),
                "sharpe": _num(self.vm_sharpe),
                "max_drawdown": _num(self.vm_max_drawdown),
                "fraction": _num(self.vm_fraction),
            },
            "trend_baseline": None
            if self.trend_total_return is None
            else {
                "total_return": _num(self.trend_total_return),
                "sharpe": _num(self.trend_sharpe if self.trend_sharpe is not None else math.nan),
                "max_drawdown": _num(self.trend_max_drawdown if self.trend_max_drawdown is not None else math.nan),
            },
            "uptime": self.uptime,
            "critical_failures": list(self.failures),
            "passes": self.passes(criteria),
            "beat_buy_and_hold": self.beat_buy_and_hold,
            "beat_baselines": self.beat_baselines,
            "equity": list(self.equity),
            "buy_and_hold_equity": list(self.bench_equity),
        }


def _num(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


@dataclass(frozen=True)
class PassRate:
    """k of n windows passed, with a Wilson score interval at `confidence`."""

    passed: int
    n: int
    low: float
    high: float
    confidence: float

    @property
    def rate(self) -> float:
        """The observed share (NaN with no windows)."""
        return self.passed / self.n if self.n else math.nan

    def to_json(self) -> dict[str, Any]:
        """Stable keys for the trial JSON."""
        return {
            "passed": self.passed,
            "n": self.n,
            "rate": _num(self.rate),
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
        }


def wilson(passed: int, n: int, confidence: float = 0.95) -> PassRate:
    """Binomial pass rate with a Wilson interval: sane at 0/n and n/n, unlike the normal approximation."""
    if not 0 <= passed <= n:
        raise ValueError("passed must be between 0 and n")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    if n == 0:
        return PassRate(0, 0, 0.0, 1.0, confidence)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = passed / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if passed == 0 else max(0.0, centre - half)
    high = 1.0 if passed == n else min(1.0, centre + half)
    return PassRate(passed, n, low, high, confidence)


@dataclass(frozen=True)
class TrialSummary:
    """Across windows: mean and median of every number, pass rates with intervals, share beating buy-and-hold."""

    n_windows: int
    stats: Mapping[str, Mapping[str, float]]
    pass_rates: Mapping[str, PassRate]
    beat_buy_and_hold: PassRate

    def to_json(self) -> dict[str, Any]:
        """Stable keys for the trial JSON."""
        return {
            "n_windows": self.n_windows,
            "metrics": {k: {s: _num(v) for s, v in d.items()} for k, d in self.stats.items()},
            "pass_rates": {k: r.to_json() for k, r in self.pass_rates.items()},
            "beat_buy_and_hold": self.beat_buy_and_hold.to_json(),
        }


_STAT_FIELDS: tuple[str, ...] = (
    "total_return",
    "sharpe",
    "max_drawdown",
    "trades",
    "fees_paid",
    "uptime",
    "bench_total_return",
    "bench_sharpe",
    "bench_max_drawdown",
    "vm_total_return",
    "vm_sharpe",
    "trend_total_return",
    "trend_sharpe",
)


def summarize_windows(scores: Sequence[WindowScore], criteria: Criteria, confidence: float = 0.95) -> TrialSummary:
    """Every window counts: mean/median ignore only unmeasurable NaNs, pass rates count them as failures."""
    stats: dict[str, dict[str, float]] = {}
    for name in (*_STAT_FIELDS, "critical_failures"):
        if name == "critical_failures":
            values = np.array([len(s.failures) for s in scores], dtype=np.float64)
        else:
            raw = [getattr(s, name) for s in scores]
            values = np.array([math.nan if v is None else float(v) for v in raw], dtype=np.float64)
        finite = values[np.isfinite(values)]
        stats[name] = {
            "mean": float(finite.mean()) if finite.size else math.nan,
            "median": float(np.median(finite)) if finite.size else math.nan,
        }
    passes = [s.passes(criteria) for s in scores]
    n = len(scores)
    rates = {name: wilson(sum(p[name] for p in passes), n, confidence) for name in CRITERIA_NAMES}
    beat = wilson(sum(s.beat_buy_and_hold for s in scores), n, confidence)
    return TrialSummary(n, stats, rates, beat)
