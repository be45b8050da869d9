"""Live, out-of-sample scoring of every board member, so the ensemble can trust the members that earn it.

Scoring. An opinion a member gives at bar j is stored with the closes known at bar j and scored only when
`observe` reaches bar k >= j + horizon, with the last known close at k: nothing later than the current bar is
ever read. Per scored (opinion, symbol) pair, with p = P(up) / (P(up) + P(down)) (0.5 when both are 0) and
y = 1 when the realised return r over the horizon is positive:

- hit: the call sign(P(up) - P(down)) matched sign(r) (pairs with P(up) = P(down) make no call);
- Brier: (p - y)^2; ECE: sum over reliability bins of |sum p - sum y| / n;
- P&L: the vote's position is its edge e = P(up) - P(down); a cycle's attribution is the mean over symbols of
  e * r - |e| * cost_bps / 1e4 (one round turn), divided by the horizon: a staggered book that commits 1/h of
  its capital to each cycle's vote. Pairs with r = 0 exactly (no trade, stale price) are not scored; neither
  are symbols with no view (NaN probabilities) or no known close.

Records are rolling: the last `window` scored cycles of each member.

Degradation. The first `baseline_obs` scored (opinion, symbol) pairs of a member fix its own reference: hit
rate p0 and Brier mean mu0, each one standard error on the conservative side of what the baseline measured (a
lucky start must not make ordinary later results look like decay), p0 clipped to [0.05, 0.95], and the Brier
std sigma0 (>= 0.01). After that two one-sided
log-likelihood-ratio CUSUMs run in nats, one step per scored cycle (the sum over its pairs):

- hit rate, Bernoulli LLR of p1 = max(p0 - cusum_delta, p0 / 2) against p0:
  l_c = sum_i [x_i ln(p1/p0) + (1 - x_i) ln((1-p1)/(1-p0))];
- Brier, Gaussian LLR of a mean shift of brier_delta, in reference standard deviations (k = brier_delta /
  (2 sigma0), z_i = (b_i - mu0) / sigma0): l_c = sum_i 2k (z_i - k).

Symbols move together, so a cycle's pairs are not independent: each step is divided by the design effect
D >= 1 measured on the baseline cycles (variance of a cycle's sum about the reference over the variance it
would have with independent pairs; quasi-likelihood). S <- max(0, S + l_c / D) and an alarm fires when
S > cusum_threshold; e^threshold bounds the in-control run length (Wald), so 12 nats means millions of pairs
between false alarms while a drop of 0.7 -> 0.4 in hit rate is caught after about a hundred pairs.

Either alarm flags the member `degraded` (a `monitor.degraded` event) and floors its weight multiplier. It
recovers (`monitor.recovered`) once at least `min_obs` pairs scored since the alarm show a hit rate at
least p0 - cusum_delta / 2 and a mean Brier at most mu0 + brier_delta / 2; the CUSUMs then restart.

Weights. A member's multiplier is 1.0 until `min_obs` pairs are scored; then its skill
(hit - 0.5) / (full_skill_hit_rate - 0.5), shrunk by n / (n + prior_obs), maps linearly onto
[min_multiplier, max_multiplier] (no skill = 1.0). `proposals(current)` moves the ensemble's weights toward
current x multiplier (renormalised to the same total), scaling the whole move so that no weight changes by
more than `max_step`. Proposals are applied only when `MonitorSettings.auto_apply` is true (see `apply`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from papertrader.config.monitor import MonitorSettings
from papertrader.core.arrays import Array
from papertrader.domain.events import (
    DomainEvent,
    DriftChanged,
    MemberDegraded,
    MemberRecovered,
    MonitorRecorded,
    WeightsProposed,
)
from papertrader.signals.votes import Opinion

#: Kinds of the monitor's events (the classes are in domain.events).
DEGRADED = MemberDegraded.KIND
RECOVERED = MemberRecovered.KIND
RECORDS = MonitorRecorded.KIND
PROPOSAL = WeightsProposed.KIND
DRIFT = DriftChanged.KIND

_P_CLIP = (0.05, 0.95)
_MIN_SIGMA = 0.01


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """A member's rolling out-of-sample record; NaN statistics until something is scored."""

    member: str
    timeframe: str
    n: int
    hit_rate: float
    brier: float
    ece: float
    pnl: float
    degraded: bool

    def as_payload(self) -> dict[str, Any]:
        """JSON-safe dict (NaN becomes None) for events."""
        return {k: _json_float(v) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class WeightProposal:
    """One bounded change of a member's ensemble weight, and why."""

    member: str
    current: float
    proposed: float
    reason: str

    def as_payload(self) -> dict[str, Any]:
        """JSON-safe dict for events."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Pending:
    """An opinion waiting for its horizon to pass, with the closes known when it was given."""

    k: int
    due: int
    horizon: int
    p_up: Array
    p_down: Array
    entry: Array


@dataclass(frozen=True, slots=True)
class _Scores:
    """The sums one member earned at one scoring cycle (additive, so windows are sums)."""

    n: int
    calls: int
    hits: int
    brier_sum: float
    brier_sq: float
    pnl: float
    bin_n: npt.NDArray[np.int64]
    bin_p: Array
    bin_y: Array

    def row(self) -> Array:
        """The sums as one vector: n, calls, hits, brier_sum, brier_sq, pnl, bin counts, bin p sums, bin y sums."""
        head = np.array([self.n, self.calls, self.hits, self.brier_sum, self.brier_sq, self.pnl], dtype=np.float64)
        return np.concatenate([head, self.bin_n.astype(np.float64), self.bin_p, self.bin_y])


@dataclass
class _Totals:
    """Running sums of a set of scores."""

    n: int = 0
    calls: int = 0
    hits: int = 0
    brier_sum: float = 0.0
    brier_sq: float = 0.0

    def add(self, s: _Scores) -> None:
        self.n += s.n
        self.calls += s.calls
        self.hits += s.hits
        self.brier_sum += s.brier_sum
        self.brier_sq += s.brier_sq

    @property
    def hit_rate(self) -> float:
        return self.hits / self.calls if self.calls else math.nan

    @property
    def brier(self) -> float:
        return self.brier_sum / self.n if self.n else math.nan


@dataclass
class _MemberState:
    """Everything the monitor keeps about one member."""

    timeframe: str
    ring: Array  # (window, 6 + 3 bins): one row of additive sums per scored cycle, see _Scores.row
    pending: list[_Pending] = field(default_factory=list)
    filled: int = 0
    head: int = 0
    baseline: _Totals = field(default_factory=_Totals)
    baseline_cycles: list[_Scores] = field(default_factory=list)
    p0: float | None = None
    p1: float = math.nan
    mu0: float = math.nan
    sigma0: float = math.nan
    design_hit: float = 1.0
    design_brier: float = 1.0
    cusum_hit: float = 0.0
    cusum_brier: float = 0.0
    degraded: bool = False
    since_alarm: _Totals = field(default_factory=_Totals)
    cached: MemberRecord | None = None

    def push(self, scores: _Scores) -> None:
        """Keep the cycle's sums in the rolling window, replacing the oldest once it is full."""
        self.ring[self.head] = scores.row()
        self.head = (self.head + 1) % self.ring.shape[0]
        self.filled = min(self.filled + 1, self.ring.shape[0])
        self.cached = None

    @property
    def rows(self) -> Array:
        """The filled rows of the window (order does not matter: they are summed)."""
        return self.ring[: self.filled]


class PerformanceMonitor:
    """Scores each member's stored opinions once their horizon has passed; flags decay; proposes weights."""

    def __init__(self, n_symbols: int, settings: MonitorSettings | None = None) -> None:
        self.n_symbols = n_symbols
        self.settings = settings or MonitorSettings()
        self._members: dict[str, _MemberState] = {}
        self._last_close = np.full(n_symbols, np.nan)
        self._weights: dict[str, float] | None = None
        self._cycles = 0
        self._last_k: int | None = None

    @property
    def auto_apply(self) -> bool:
        """Whether the ensemble should apply proposals itself (MonitorSettings.auto_apply)."""
        return self.settings.auto_apply

    def observe(
        self,
        k: int,
        ts: datetime,
        close: Array,
        opinions: Sequence[Opinion],
        horizons: Mapping[str, int],
    ) -> list[DomainEvent]:
        """Score every stored opinion whose horizon has passed using closes up to bar k, then store this cycle's."""
        if close.shape != (self.n_symbols,):
            raise ValueError(f"close must have one entry per symbol ({self.n_symbols})")
        if self._last_k is not None and k <= self._last_k:
            raise ValueError(f"bars must be observed in order: got {k} after {self._last_k}")
        self._last_k = k
        known = np.isfinite(close)
        self._last_close[known] = close[known]
        events: list[DomainEvent] = []
        for name, state in self._members.items():
            due = [p for p in state.pending if p.due <= k]
            if not due:
                continue
            state.pending = [p for p in state.pending if p.due > k]
            for pending in due:
                scores = self._score(pending)
                if scores is not None and scores.n > 0:
                    state.push(scores)
                    events.extend(self._test(ts, name, state, scores))
        for opinion in opinions:
            self._store(k, opinion, horizons)
        self._cycles += 1
        if self._cycles % self.settings.propose_every == 0 and self._members:
            events.extend(self._periodic_events(ts))
        return events

    def records(self) -> dict[str, MemberRecord]:
        """Each member's rolling record, keyed by member name."""
        out: dict[str, MemberRecord] = {}
        for name, state in self._members.items():
            if state.cached is None:
                state.cached = _record(name, state.timeframe, state.rows, state.degraded)
            out[name] = state.cached
        return out

    def timeframe_records(self) -> dict[str, MemberRecord]:
        """The same statistics pooled over all members of each timeframe (member = the timeframe's name)."""
        groups: dict[str, list[Array]] = {}
        degraded: dict[str, bool] = {}
        for state in self._members.values():
            groups.setdefault(state.timeframe, []).append(state.rows)
            degraded[state.timeframe] = degraded.get(state.timeframe, False) or state.degraded
        return {tf: _record(tf, tf, np.concatenate(rows), degraded[tf]) for tf, rows in groups.items()}

    def weight_multipliers(self) -> dict[str, float]:
        """Per member, a factor in [min_multiplier, max_multiplier]; 1.0 until min_obs pairs are scored."""
        s = self.settings
        out: dict[str, float] = {}
        for name, rec in self.records().items():
            if rec.n < s.min_obs or not math.isfinite(rec.hit_rate):
                out[name] = 1.0
            elif rec.degraded:
                out[name] = s.min_multiplier
            else:
                skill = (rec.hit_rate - 0.5) / (s.full_skill_hit_rate - 0.5) * rec.n / (rec.n + s.prior_obs)
                span = s.max_multiplier - 1.0 if skill >= 0 else 1.0 - s.min_multiplier
                out[name] = float(np.clip(1.0 + skill * span, s.min_multiplier, s.max_multiplier))
        return out

    def proposals(self, current: Mapping[str, float]) -> list[WeightProposal]:
        """Weights moved toward current x multiplier, same total, no weight moving more than max_step."""
        self._weights = {m: float(w) for m, w in current.items()}
        names = list(current)
        if not names:
            return []
        now = np.array([float(current[m]) for m in names])
        if (now < 0).any() or not np.isfinite(now).all():
            raise ValueError("current weights must be finite and non-negative")
        mults = self.weight_multipliers()
        target = now * np.array([mults.get(m, 1.0) for m in names])
        total, new_total = float(now.sum()), float(target.sum())
        if new_total <= 0:
            return []
        delta = target * (total / new_total) - now
        largest = float(np.abs(delta).max())
        if largest <= 1e-12:
            return []
        delta *= min(1.0, self.settings.max_step / largest)
        records = self.records()
        return [
            WeightProposal(m, float(now[i]), float(now[i] + delta[i]), self._reason(records.get(m), mults.get(m, 1.0)))
            for i, m in enumerate(names)
            if abs(delta[i]) > 1e-12
        ]

    def apply(self, current: Mapping[str, float]) -> dict[str, float]:
        """The weights the ensemble should use: the proposals when auto_apply is on, else `current` unchanged."""
        weights = {m: float(w) for m, w in current.items()}
        if not self.settings.auto_apply:
            return weights
        for p in self.proposals(current):
            weights[p.member] = p.proposed
        return weights

    # -- internals ---------------------------------------------------------------------------------------

    def _store(self, k: int, opinion: Opinion, horizons: Mapping[str, int]) -> None:
        """Keep an opinion (if it has any view) until its horizon has passed."""
        if opinion.p_up.shape != (self.n_symbols,):
            raise ValueError(f"{opinion.member}'s opinion covers {opinion.p_up.shape[0]} symbols, not {self.n_symbols}")
        state = self._members.get(opinion.member)
        if state is None:
            width = 6 + 3 * self.settings.ece_bins
            state = _MemberState(opinion.timeframe, np.zeros((self.settings.window, width)))
            self._members[opinion.member] = state
        state.timeframe = opinion.timeframe
        if not opinion.has_view.any():
            return
        horizon = int(horizons.get(opinion.member, horizons.get(opinion.timeframe, self.settings.default_horizon)))
        if horizon < 1:
            raise ValueError(f"horizon of {opinion.member} must be at least one bar")
        state.pending.append(
            _Pending(k, k + horizon, horizon, opinion.p_up.copy(), opinion.p_down.copy(), self._last_close.copy())
        )

    def _score(self, pending: _Pending) -> _Scores | None:
        """Scores of one matured opinion against the last known closes (never later than the current bar)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ret = self._last_close / pending.entry - 1.0
        up, down = pending.p_up, pending.p_down
        ok = np.isfinite(up) & np.isfinite(down) & np.isfinite(ret) & (ret != 0.0)
        if not ok.any():
            return None
        up, down, ret = up[ok], down[ok], ret[ok]
        mass = up + down
        p = np.where(mass > 0, up / np.where(mass > 0, mass, 1.0), 0.5)
        y = (ret > 0).astype(np.float64)
        edge = up - down
        call = np.abs(edge) > 1e-12
        hit = call & ((edge > 0) == (ret > 0))
        brier = (p - y) ** 2
        bins = self.settings.ece_bins
        idx = np.minimum((p * bins).astype(np.int64), bins - 1)
        cost = self.settings.cost_bps / 1e4
        pnl = float(np.mean(edge * ret - np.abs(edge) * cost)) / pending.horizon
        return _Scores(
            n=int(ok.sum()),
            calls=int(call.sum()),
            hits=int(hit.sum()),
            brier_sum=float(brier.sum()),
            brier_sq=float((brier**2).sum()),
            pnl=pnl,
            bin_n=np.bincount(idx, minlength=bins).astype(np.int64),
            bin_p=np.bincount(idx, weights=p, minlength=bins).astype(np.float64),
            bin_y=np.bincount(idx, weights=y, minlength=bins).astype(np.float64),
        )

    def _test(self, ts: datetime, name: str, state: _MemberState, scores: _Scores) -> list[DomainEvent]:
        """Feed one scored cycle to the member's baseline or CUSUMs; events when its state flips."""
        s = self.settings
        if state.p0 is None:
            state.baseline.add(scores)
            state.baseline_cycles.append(scores)
            if state.baseline.n >= s.baseline_obs and state.baseline.calls > 0:
                _fix_reference(state, s)
            return []
        p0, p1 = state.p0, state.p1
        misses = scores.calls - scores.hits
        llr = scores.hits * math.log(p1 / p0) + misses * math.log((1 - p1) / (1 - p0))
        state.cusum_hit = max(0.0, state.cusum_hit + llr / state.design_hit)
        kb = s.brier_delta / (2 * state.sigma0)
        z = (scores.brier_sum - scores.n * state.mu0) / state.sigma0
        state.cusum_brier = max(0.0, state.cusum_brier + 2 * kb * (z - scores.n * kb) / state.design_brier)
        if not state.degraded:
            tests = []
            if state.cusum_hit > s.cusum_threshold:
                tests.append("hit_rate_cusum")
            if state.cusum_brier > s.cusum_threshold:
                tests.append("brier_cusum")
            if not tests:
                return []
            state.degraded = True
            state.cached = None
            state.since_alarm = _Totals()
            rec = self.records()[name]
            return [
                MemberDegraded(
                    ts,
                    member=name,
                    timeframe=state.timeframe,
                    tests=tuple(tests),
                    cusum_hit=state.cusum_hit,
                    cusum_brier=state.cusum_brier,
                    design_effect=(state.design_hit, state.design_brier),
                    reference_hit_rate=p0,
                    reference_brier=state.mu0,
                    recent_hit_rate=_json_float(rec.hit_rate),
                    recent_brier=_json_float(rec.brier),
                    n=rec.n,
                )
            ]
        state.since_alarm.add(scores)
        recent = state.since_alarm
        if (
            recent.n >= s.min_obs
            and recent.calls > 0
            and recent.hit_rate >= p0 - s.cusum_delta / 2
            and recent.brier <= state.mu0 + s.brier_delta / 2
        ):
            state.degraded = False
            state.cached = None
            state.cusum_hit = state.cusum_brier = 0.0
            return [
                MemberRecovered(
                    ts,
                    member=name,
                    timeframe=state.timeframe,
                    hit_rate_since_alarm=recent.hit_rate,
                    brier_since_alarm=recent.brier,
                    n=recent.n,
                )
            ]
        return []

    def _periodic_events(self, ts: datetime) -> list[DomainEvent]:
        """A records snapshot (so reports can rebuild the table) and, once weights are known, proposals."""
        events: list[DomainEvent] = [
            MonitorRecorded(
                ts,
                records=tuple(r.as_payload() for r in self.records().values()),
                timeframes=tuple(r.as_payload() for r in self.timeframe_records().values()),
                multipliers=self.weight_multipliers(),
            )
        ]
        if self._weights:
            props = self.proposals(self._weights)
            if props:
                events.append(
                    WeightsProposed(
                        ts, proposals=tuple(p.as_payload() for p in props), auto_apply=self.settings.auto_apply
                    )
                )
        return events

    def _reason(self, rec: MemberRecord | None, mult: float) -> str:
        """Why a member's weight moves, in one line."""
        if rec is None or rec.n < self.settings.min_obs:
            return f"fewer than {self.settings.min_obs} scored opinions: neutral, rebalanced with the others"
        state = "degraded (CUSUM alarm), floored" if rec.degraded else "skill"
        return (
            f"{state}: hit rate {rec.hit_rate:.1%}, Brier {rec.brier:.3f}, ECE {rec.ece:.3f} over {rec.n} "
            f"scored pairs; multiplier {mult:.2f}"
        )


def _fix_reference(state: _MemberState, s: MonitorSettings) -> None:
    """Freeze the member's own reference record and the design effects of its cycles' correlated pairs."""
    b = state.baseline
    cycles = state.baseline_cycles
    widest = max(c.n for c in cycles)
    raw_p, raw_mu = b.hit_rate, b.brier
    raw_sigma = max(math.sqrt(max(b.brier_sq / b.n - raw_mu**2, 0.0)), _MIN_SIGMA)
    hit_var = sum((c.hits - c.calls * raw_p) ** 2 for c in cycles) / max(b.calls * raw_p * (1 - raw_p), 1e-12)
    brier_var = sum((c.brier_sum - c.n * raw_mu) ** 2 for c in cycles) / max(b.n * raw_sigma**2, 1e-12)
    state.design_hit = float(np.clip(hit_var, 1.0, widest))
    state.design_brier = float(np.clip(brier_var, 1.0, widest))
    # the reference is what the record credibly supports: one (design-adjusted) standard error less good
    se_hit = math.sqrt(raw_p * (1 - raw_p) * state.design_hit / b.calls)
    se_brier = raw_sigma * math.sqrt(state.design_brier / b.n)
    p0 = float(np.clip(raw_p - se_hit, *_P_CLIP))
    state.p0 = p0
    state.p1 = max(p0 - s.cusum_delta, p0 / 2)
    state.mu0 = raw_mu + se_brier
    state.sigma0 = raw_sigma
    state.baseline_cycles = []


def _record(name: str, timeframe: str, rows: Array, degraded: bool) -> MemberRecord:
    """Sum a window of per-cycle score rows (see _Scores.row) into a record."""
    total = rows.sum(axis=0) if rows.shape[0] else None
    if total is None or total[0] == 0:
        return MemberRecord(name, timeframe, 0, math.nan, math.nan, math.nan, 0.0, degraded)
    n, calls, hits, brier_sum, _brier_sq, pnl = (float(v) for v in total[:6])
    bins = (total.shape[0] - 6) // 3
    bin_p, bin_y = total[6 + bins : 6 + 2 * bins], total[6 + 2 * bins :]
    ece = float(np.abs(bin_p - bin_y).sum()) / n
    return MemberRecord(name, timeframe, int(n), hits / calls if calls else math.nan, brier_sum / n, ece, pnl, degraded)


def _json_float(value: Any) -> Any:
    """NaN and infinities are not JSON: they become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
