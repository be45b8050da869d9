"""The AI board: a Strategy that polls every member, calibrates and weighs their votes, and decides per symbol.

Per symbol i at cycle k:

1. each member opines (one that raises is absent; NaN probabilities = no view on that symbol);
2. its P(up)/P(down) are calibrated (`signals.calibration`, fitted before the first traded bar) and kept within
   [board.probability_clip, 1 - board.probability_clip]: no member hands the board a certainty;
3. its weight = base weight x calibrated confidence |P(up) - P(down)| x the monitor's multiplier (its recent
   out-of-sample record, when `board.follow_record`). The base weights start at `board.base_weights` and move
   only when the monitor's bounded proposals are applied (`monitor.auto_apply`, off by default); with both
   switches on, a good record counts twice (once in the multiplier, once in the drifted base weight);
4. the weighted mean gives the board's P(up), P(down) and edge; the short-term members' direction (every
   timeframe but "trend") is compared with the trend member's: agreement multiplies conviction by
   (1 + alignment_boost), conflict by (1 - conflict_penalty) or keeps the previous target (`conflict_policy`);
5. the edge beyond `min_edge` maps linearly onto up to 1/N of equity (long only unless shorts are allowed);
   p_win (the side's calibrated probability, moved toward or away from 0.5 by the conviction) and the payoff
   ratio measured on the calibration window let the risk engine's Kelly sizing size it; p_win is clipped to
   [probability_clip, 1 - probability_clip] as well (the alignment boost could otherwise push it to 1);
6. any member's exit flag sets the target to 0, whatever the rest says; a symbol on which every member is
   silent keeps its previous target (hold: no new risk).

A model member whose version did not pass the quality gate (`left_out`, see `signals.gating`) is still polled
and its vote recorded, with weight 0 and the gate's sentence as its reason; its exit flags are ignored and the
monitor neither scores it nor moves weight to it, so the decisions equal those of a board without it.

The performance monitor scores the calibrated opinions as their horizons pass (closes up to k only) and its
monitor.* events ride out with the decision, as do the feature-drift checks' monitor.drift events (every
`drift_every` cycles, against references fitted before the first traded bar).

The board is stateful (monitor records, base weights, the PPO member's own book, previous targets, drift
state), so `Engine.restore` hands a resumed run's committed cycles to `replay`, which decides them again in
order (advisors stay silent there: no money is spent on bars already traded, and their answers arrive
asynchronously anyway, so a board with advisors resumes close to, not exactly on, its uninterrupted path).
`close()` releases members that hold resources (the advisors' thread pools and HTTP clients).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from papertrader.config.board import BoardSettings
from papertrader.core.arrays import Array
from papertrader.domain.events import DomainEvent, WeightsProposed
from papertrader.features.view import FeatureView
from papertrader.signals.base import Closable, Decision, Preparable
from papertrader.signals.calibration import BoardCalibration
from papertrader.signals.members import CLOSE
from papertrader.signals.votes import Member, Opinion

log = logging.getLogger(__name__)


class Monitor(Protocol):
    """The part of signals.monitor.PerformanceMonitor the board uses."""

    def observe(
        self, k: int, ts: datetime, close: Array, opinions: Sequence[Opinion], horizons: Mapping[str, int]
    ) -> list[DomainEvent]:
        """Score matured opinions with closes up to k, store this cycle's; events to publish."""
        ...

    def weight_multipliers(self) -> dict[str, float]:
        """Per member weight factor from its recent out-of-sample record."""
        ...

    @property
    def auto_apply(self) -> bool:
        """Whether the board should apply the monitor's weight proposals to its base weights."""
        ...

    def proposals(self, current: Mapping[str, float]) -> Sequence[Any]:
        """Bounded changes of `current` (also tells the monitor the weights its periodic proposals start from)."""
        ...


class DriftCheck(Protocol):
    """The part of signals.drift.DriftMonitor the board uses: fitted before trading, checked now and then."""

    def check(self, ts: datetime, view: FeatureView) -> list[DomainEvent]:
        """monitor.drift events when the set of drifted features changes."""
        ...


def bounded(opinion: Opinion, clip: float) -> Opinion:
    """The opinion with P(up) and P(down) within [clip, 1 - clip] and still summing to at most 1 (NaN stays)."""
    up = np.clip(opinion.p_up, clip, 1.0 - clip)
    down = np.clip(opinion.p_down, clip, 1.0 - clip)
    total = up + down
    over = np.isfinite(total) & (total > 1.0)
    if over.any():
        # shrink the larger side: the smaller one is at least `clip` and stays there
        excess = np.where(over, total - 1.0, 0.0)
        up_larger = up >= down
        up = np.where(over & up_larger, up - excess, up)
        down = np.where(over & ~up_larger, down - excess, down)
    return Opinion(opinion.member, opinion.timeframe, up, down, opinion.exit, opinion.reason)


def _notes(members: Sequence[Member], left_out: Mapping[str, str] | None) -> list[tuple[Member, str]]:
    """(member, note) of the members named in `left_out` (names the board does not have are ignored)."""
    notes = dict(left_out or {})
    return [(m, notes[m.name]) for m in members if m.name in notes]


def _num(x: float) -> float | None:
    """JSON-safe number (NaN -> None)."""
    return float(x) if math.isfinite(x) else None


class Ensemble:
    """Confidence- and record-weighted consensus of board members, with timeframe alignment and exit priority."""

    def __init__(
        self,
        members: Sequence[Member],
        n_symbols: int,
        board: BoardSettings | None = None,
        calibration: BoardCalibration | None = None,
        monitor: Monitor | None = None,
        allow_short: bool = False,
        max_weight: float | None = None,
        name: str = "ensemble",
        drift: Sequence[DriftCheck] = (),
        drift_every: int = 20,
        left_out: Mapping[str, str] | None = None,
    ) -> None:
        if not members:
            raise ValueError("the board needs at least one member")
        if n_symbols < 1:
            raise ValueError("n_symbols must be positive")
        self.members = tuple(members)
        self.n_symbols = n_symbols
        self.board = board or BoardSettings()
        self.calibration = calibration
        self.monitor = monitor
        self.allow_short = allow_short
        self.max_weight = max_weight if max_weight is not None else 1.0 / n_symbols
        self.name = name
        self.horizons = {m.name: self.board.horizon(m.name) for m in self.members}
        #: the base weights votes start from; they move only by applied monitor proposals (monitor.auto_apply)
        self.base_weights = {m.name: self.board.base_weight(m.name) for m in self.members}
        if drift_every < 1:
            raise ValueError("drift_every must be at least one cycle")
        self.drift = tuple(drift)
        self.drift_every = drift_every
        self._last_weights = np.zeros(n_symbols)
        self._last_p_win = np.full(n_symbols, 0.5)
        self._last_k: int | None = None
        self._cycles = 0
        self._replaying = False
        self.failures: dict[str, str] = {}
        #: member -> why it does not vote (a version that did not pass the quality gate): polled, weight 0
        self.left_out: dict[str, str] = {m.name: str(note) for m, note in _notes(self.members, left_out)}
        if self.left_out and len(self.left_out) == len(self.members):
            log.warning("no board member may vote (%s): the board holds its targets", "; ".join(self.left_out.values()))
        if monitor is not None:
            monitor.proposals(self._voting(self.base_weights))  # the monitor's periodic proposals start from these

    def _voting(self, weights: Mapping[str, float]) -> dict[str, float]:
        """The base weights of the members that may vote (a left-out member takes no share of the total)."""
        return {m: w for m, w in weights.items() if m not in self.left_out}

    def replay(self, cycles: Iterable[tuple[datetime, FeatureView]]) -> Decision | None:
        """Decide committed cycles again, in order, to rebuild the board's state on resume; the last decision."""
        decision: Decision | None = None
        self._replaying = True
        try:
            for ts, view in cycles:
                decision = self.decide(ts, view)
        finally:
            self._replaying = False
        return decision

    def prepare(self, view: FeatureView) -> None:
        """Between bars (live): members precompute what the next cycle already determines (recurrent prefixes)."""
        for m in self.members:
            if isinstance(m, Preparable):
                try:
                    m.prepare(view)
                except Exception:  # the bar's own full computation still answers
                    log.exception("board member %s could not prepare the next cycle", m.name)

    def close(self) -> None:
        """Release what members hold (advisor thread pools and HTTP clients); called when the run ends."""
        for m in self.members:
            if isinstance(m, Closable):
                try:
                    m.close()
                except Exception:  # closing must not hide the run's own outcome
                    log.exception("board member %s did not close cleanly", m.name)

    def member_status(self) -> dict[str, tuple[str, str]]:
        """(status, message) of members that report their own health (the advisors), for the engine's board."""
        out: dict[str, tuple[str, str]] = {}
        for m in self.members:
            report = getattr(m, "health", None)
            if callable(report):
                h = report()
                out[m.name] = (str(h.status), str(h.message))
        return out

    def required_features(self) -> tuple[str, ...]:
        """Every panel any member reads, plus the close the monitor scores with."""
        names: dict[str, None] = {CLOSE: None}
        for m in self.members:
            names.update(dict.fromkeys(m.required_features()))
        return tuple(names)

    def health(self) -> dict[str, Any]:
        """Per member: which model version serves (with fallbacks) and the last failure, if any."""
        out: dict[str, Any] = {}
        for m in self.members:
            h = getattr(m, "health", None)
            if callable(h):  # an advisor reports through a method
                h = h()
            if h is None:
                entry: dict[str, Any] = {"status": "ok"}
            elif hasattr(h, "as_dict"):
                entry = h.as_dict()
            else:
                entry = {"status": str(h.status), "message": str(h.message)}
            if m.name in self.failures:
                entry["last_failure"] = self.failures[m.name]
            if m.name in self.left_out:
                entry["left_out"] = self.left_out[m.name]
            out[m.name] = entry
        return out

    def poll(self, ts: datetime, view: FeatureView) -> tuple[list[Opinion], dict[str, str]]:
        """Every member's opinion (calibrated); a member that raises or answers malformed is left out."""
        opinions: list[Opinion] = []
        failed: dict[str, str] = {}
        for member in self.members:
            if self._replaying and member.timeframe == "advisor":
                continue
            try:
                op = member.opine(ts, view)
                if op.p_up.shape != (self.n_symbols,):
                    raise ValueError(f"opinion covers {op.p_up.shape[0]} symbols, not {self.n_symbols}")
            except Exception as exc:
                failed[member.name] = f"{type(exc).__name__}: {exc}"
                log.warning("board member %s failed at cycle %d: %s", member.name, view.k, failed[member.name])
                continue
            calibrated = self.calibration.apply(op) if self.calibration is not None else op
            opinions.append(bounded(calibrated, self.board.probability_clip))
        self.failures.update(failed)
        return opinions, failed

    def decide(self, ts: datetime, view: FeatureView) -> Decision:
        """Target weights, confidence, Kelly inputs and per-symbol votes from one poll of the board."""
        opinions, failed = self.poll(ts, view)
        events: list[DomainEvent] = []
        mults: dict[str, float] = {}
        new_cycle = self._last_k is None or view.k > self._last_k
        if self.monitor is not None:
            if self.board.follow_record:
                mults = self.monitor.weight_multipliers()
            if new_cycle:
                voting = [op for op in opinions if op.member not in self.left_out]
                events = self.monitor.observe(view.k, ts, view.now(CLOSE), voting, self.horizons)
                self._apply_proposals(events)
        if new_cycle:
            if self.drift and self._cycles % self.drift_every == 0:
                for check in self.drift:
                    events.extend(check.check(ts, view))
            self._cycles += 1
        self._last_k = view.k
        return self.combine(opinions, mults, failed, events)

    def _apply_proposals(self, events: Sequence[DomainEvent]) -> None:
        """Move the base weights to the monitor's proposals, only when monitor.auto_apply is set."""
        if self.monitor is None or not self.monitor.auto_apply:
            return
        changed = False
        for event in events:
            if not isinstance(event, WeightsProposed):
                continue
            for p in event.proposals:
                if p["member"] in self.base_weights:
                    self.base_weights[p["member"]] = float(p["proposed"])
                    changed = True
        if changed:
            log.info("board base weights now %s (monitor proposals applied)", self.base_weights)
            self.monitor.proposals(self._voting(self.base_weights))

    def _member_weights(self, opinions: Sequence[Opinion], mults: Mapping[str, float]) -> tuple[Array, Array, Array]:
        """(M, N) calibrated P(up), P(down) and vote weights (0 where a member has no view)."""
        n = self.n_symbols
        if not opinions:
            empty = np.zeros((0, n))
            return empty, empty.copy(), empty.copy()
        up = np.stack([op.p_up for op in opinions])
        down = np.stack([op.p_down for op in opinions])
        has = np.isfinite(up) & np.isfinite(down)
        base_of = self.base_weights
        base = np.array(
            [base_of.get(op.member, self.board.base_weight(op.member)) * mults.get(op.member, 1.0) for op in opinions]
        )
        conf = np.where(has, np.abs(np.nan_to_num(up) - np.nan_to_num(down)), 0.0)
        heard = np.array([op.member not in self.left_out for op in opinions], dtype=np.float64)
        return up, down, (base * heard)[:, None] * conf

    def _reason(self, op: Opinion, i: int) -> str:
        """The member's own reason, led by the gate's sentence when it may not vote."""
        own = op.reason(i)
        note = self.left_out.get(op.member)
        return own if note is None else f"{note}; {own}"

    @staticmethod
    def _pool(up: Array, down: Array, w: Array, rows: Array) -> tuple[Array, Array, Array]:
        """Weighted mean P(up), P(down) over the selected members and the total weight (NaN where none)."""
        ws = np.where(rows[:, None], w, 0.0)
        total = ws.sum(axis=0)
        safe = np.where(total > 0, total, 1.0)
        pu = np.where(total > 0, (ws * np.nan_to_num(up)).sum(axis=0) / safe, np.nan)
        pd_ = np.where(total > 0, (ws * np.nan_to_num(down)).sum(axis=0) / safe, np.nan)
        return pu, pd_, total

    def combine(
        self,
        opinions: Sequence[Opinion],
        mults: Mapping[str, float] | None = None,
        failed: Mapping[str, str] | None = None,
        events: Sequence[DomainEvent] = (),
    ) -> Decision:
        """The board's decision from calibrated opinions (pure apart from the hold/previous-target memory)."""
        b = self.board
        mults = mults or {}
        failed = dict(failed or {})
        n = self.n_symbols
        up, down, w = self._member_weights(opinions, mults)
        everyone = np.ones(len(opinions), dtype=bool)
        is_trend = np.array([op.timeframe == "trend" for op in opinions], dtype=bool)
        p_up, p_down, total = self._pool(up, down, w, everyone)
        s_up, s_down, s_total = self._pool(up, down, w, ~is_trend)
        t_up, t_down, t_total = self._pool(up, down, w, is_trend)
        edge = np.nan_to_num(p_up - p_down)
        short_edge = np.nan_to_num(s_up - s_down)
        trend_edge = np.nan_to_num(t_up - t_down)
        both = (s_total > 0) & (t_total > 0) & (np.abs(short_edge) > b.min_edge) & (np.abs(trend_edge) > b.min_edge)
        agree = both & (np.sign(short_edge) == np.sign(trend_edge))
        conflict = both & ~agree
        factor = np.where(agree, 1.0 + b.alignment_boost, np.where(conflict, 1.0 - b.conflict_penalty, 1.0))

        scale = max(1.0 - b.min_edge, 1e-9)
        size = np.clip((np.abs(edge) - b.min_edge) / scale * factor, 0.0, 1.0)
        direction = np.sign(edge)
        if not self.allow_short:
            direction = np.where(direction > 0, 1.0, 0.0)
        weights = direction * size * self.max_weight
        side_p = np.where(edge >= 0, p_up, p_down)
        pair = np.nan_to_num(p_up) + np.nan_to_num(p_down)
        p_side = np.where(pair > 0, np.nan_to_num(side_p) / np.where(pair > 0, pair, 1.0), 0.5)
        clip = b.probability_clip
        p_win = np.clip(0.5 + (p_side - 0.5) * factor, clip, 1.0 - clip)
        p_win = np.where(weights != 0, p_win, 0.5)

        silent = total <= 0
        held = conflict & (b.conflict_policy == "hold")
        keep = silent | held
        weights = np.where(keep, self._last_weights, weights)
        p_win = np.where(keep, self._last_p_win, p_win)
        exits = np.zeros(n, dtype=bool)
        exit_by: list[list[str]] = [[] for _ in range(n)]
        for op in opinions:
            if op.member in self.left_out:
                continue  # a member that may not vote may not force an exit either
            flagged = op.exit
            exits |= flagged
            for i in np.flatnonzero(flagged):
                exit_by[int(i)].append(op.member)
        weights = np.where(exits, 0.0, weights)
        p_win = np.where(exits, 0.5, p_win)
        confidence = np.where(exits, 1.0, np.clip(np.abs(edge) * factor, 0.0, 1.0))
        confidence = np.where(silent & ~exits, 0.0, confidence)
        payoff = np.ones(n)
        if self.calibration is not None and len(self.calibration.payoff) == n:
            payoff = np.asarray(self.calibration.payoff, dtype=np.float64)
        self._last_weights = weights.copy()
        self._last_p_win = p_win.copy()

        def votes(i: int) -> list[dict[str, Any]]:
            out = []
            for j, op in enumerate(opinions):
                out.append(
                    {
                        "member": op.member,
                        "timeframe": op.timeframe,
                        "p_up": _num(float(op.p_up[i])),
                        "p_down": _num(float(op.p_down[i])),
                        "exit": bool(op.exit[i]),
                        "weight": float(w[j, i]),
                        "reason": self._reason(op, i),
                    }
                )
            return out

        def explain(i: int) -> str:
            if exits[i]:
                head = f"EXIT requested by {', '.join(exit_by[i])}: target 0"
            elif silent[i]:
                head = f"no member has a view: hold {weights[i]:+.3f}"
            else:
                align = ""
                if agree[i]:
                    align = f", short-term agrees with trend (x{factor[i]:.2f})"
                elif conflict[i]:
                    align = (
                        ", short-term conflicts with trend: hold previous target"
                        if held[i]
                        else f", short-term conflicts with trend (x{factor[i]:.2f})"
                    )
                head = (
                    f"board P(up) {p_up[i]:.2f} P(down) {p_down[i]:.2f} edge {edge[i]:+.2f}{align} "
                    f"-> weight {weights[i]:+.3f}"
                )
            parts = [
                f"{op.member}[{op.timeframe}] up {op.p_up[i]:.2f} down {op.p_down[i]:.2f} w {w[j, i]:.2f}"
                + (" EXIT" if op.exit[i] else "")
                for j, op in enumerate(opinions)
                if (np.isfinite(op.p_up[i]) or op.exit[i]) and op.member not in self.left_out
            ]
            absent = [f"{m} absent ({why})" for m, why in failed.items() if m not in self.left_out]
            return "; ".join([head, *parts, *absent, *self.left_out.values()])

        return Decision(
            weights=np.asarray(weights, dtype=np.float64),
            confidence=np.asarray(confidence, dtype=np.float64),
            explain=explain,
            p_win=np.asarray(p_win, dtype=np.float64),
            payoff=payoff,
            votes=votes,
            events=tuple(events),
        )
