"""The board's combination rules, with small fake members (synthetic probabilities, stated per test)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from fixed_members import TS, Fixed, N

from papertrader.config.board import BoardSettings
from papertrader.features.view import FeatureView
from papertrader.signals.ensemble import Ensemble
from papertrader.signals.votes import Opinion, Timeframe


class Raising:
    """A fake member that always fails."""

    name = "broken"
    timeframe: Timeframe = "short"

    def required_features(self) -> tuple[str, ...]:
        return ()

    def opine(self, ts: datetime, view: FeatureView) -> Opinion:
        raise RuntimeError("model file vanished")


def _view(k: int = 0) -> FeatureView:
    return FeatureView({"close": np.full((k + 1, N), 100.0)}, k)


def _board(**kw: object) -> BoardSettings:
    base = {"base_weights": {"a": 1.0, "b": 1.0, "t": 1.0}, "min_edge": 0.05}
    return BoardSettings.model_validate({**base, **kw})


def test_a_more_confident_member_pulls_the_board_towards_its_view() -> None:
    bull = Fixed("a", "short", [0.9] * N, [0.05] * N)
    timid_bear = Fixed("b", "short", [0.4] * N, [0.5] * N)
    d = Ensemble([bull, timid_bear], N, _board()).decide(TS, _view())
    assert (d.weights > 0).all()
    votes = d.votes(0) if d.votes else []
    weights = {v["member"]: v["weight"] for v in votes}
    assert weights["a"] > 5 * weights["b"]


def test_the_monitor_record_scales_a_member_weight() -> None:
    class Record:
        auto_apply = False

        def observe(self, *args: object) -> list:  # type: ignore[type-arg]
            return []

        def weight_multipliers(self) -> dict[str, float]:
            return {"a": 0.25, "b": 2.0}

        def proposals(self, current: object) -> list:  # type: ignore[type-arg]
            return []

    a = Fixed("a", "short", [0.8] * N, [0.1] * N)
    b = Fixed("b", "short", [0.1] * N, [0.8] * N)
    plain = Ensemble([a, b], N, _board()).decide(TS, _view())
    recorded = Ensemble([a, b], N, _board(), monitor=Record()).decide(TS, _view())
    ignored = Ensemble([a, b], N, _board(follow_record=False), monitor=Record()).decide(TS, _view())
    assert ignored.votes is not None and plain.votes is not None
    assert [v["weight"] for v in ignored.votes(0)] == [v["weight"] for v in plain.votes(0)]  # follow_record off
    assert plain.weights[0] == 0.0  # balanced: no edge
    assert recorded.votes is not None
    w = {v["member"]: v["weight"] for v in recorded.votes(0)}
    assert w["b"] == pytest.approx(8 * w["a"])
    assert recorded.weights[0] == 0.0 and recorded.confidence[0] > 0.3  # the bear with the record wins: no long


def test_agreement_with_the_trend_member_raises_conviction_and_conflict_lowers_it() -> None:
    short = Fixed("a", "short", [0.6] * N, [0.3] * N)
    alone = Ensemble([short], N, _board()).decide(TS, _view())
    aligned = Ensemble([short, Fixed("t", "trend", [0.5] * N, [0.4] * N)], N, _board()).decide(TS, _view())
    against = Ensemble([short, Fixed("t", "trend", [0.4] * N, [0.5] * N)], N, _board()).decide(TS, _view())
    assert aligned.p_win is not None and alone.p_win is not None and against.p_win is not None
    assert aligned.p_win[0] > alone.p_win[0]
    assert against.weights[0] < alone.weights[0]
    assert "conflicts with trend" in against.explain(0)
    assert "agrees with trend" in aligned.explain(0)


def test_conflict_policy_hold_keeps_the_previous_target() -> None:
    board = _board(conflict_policy="hold")
    a = Fixed("a", "short", [0.7] * N, [0.2] * N)
    ens = Ensemble([a, Fixed("t", "trend", [0.7] * N, [0.2] * N)], N, board)
    first = ens.decide(TS, _view(0))
    ens.members = (a, Fixed("t", "trend", [0.1] * N, [0.8] * N))
    second = ens.decide(TS, _view(1))
    assert first.weights[0] > 0
    assert second.weights[0] == pytest.approx(first.weights[0])


def test_an_exit_flag_always_wins() -> None:
    bulls = [Fixed(n, "short", [0.95] * N, [0.0] * N) for n in ("a", "b")]
    agent = Fixed("ppo", "agent", [0.2] * N, [0.3] * N, [False, True, False])
    d = Ensemble([*bulls, agent], N, _board()).decide(TS, _view())
    assert d.weights[0] > 0 and d.weights[2] > 0
    assert d.weights[1] == 0.0
    assert "EXIT requested by ppo" in d.explain(1)


def test_a_raising_member_is_absent_and_the_vote_goes_on() -> None:
    d = Ensemble([Raising(), Fixed("a", "short", [0.9] * N, [0.05] * N)], N, _board()).decide(TS, _view())
    assert (d.weights > 0).all()
    assert d.votes is not None and [v["member"] for v in d.votes(0)] == ["a"]
    assert "broken absent (RuntimeError: model file vanished)" in d.explain(0)


def test_all_members_silent_holds_and_takes_no_new_risk() -> None:
    silent = [Opinion.silent("a", "short", N, "warming up"), Opinion.silent("t", "trend", N, "warming up")]

    class Silent:
        def __init__(self, op: Opinion) -> None:
            self.name, self.timeframe, self.op = op.member, op.timeframe, op

        def required_features(self) -> tuple[str, ...]:
            return ()

        def opine(self, ts: datetime, view: FeatureView) -> Opinion:
            return self.op

    ens = Ensemble([Silent(op) for op in silent], N, _board())
    d = ens.decide(TS, _view())
    assert (d.weights == 0).all() and (d.confidence == 0).all()
    assert "no member has a view" in d.explain(0)
    ens._last_weights = np.array([0.1, 0.0, 0.2])  # a position the board took earlier
    held = ens.decide(TS, _view(1))
    assert held.weights.tolist() == [0.1, 0.0, 0.2]


def test_votes_carry_the_stored_keys() -> None:
    d = Ensemble([Fixed("a", "short", [0.9] * N, [0.05] * N)], N, _board()).decide(TS, _view())
    assert d.votes is not None
    (vote,) = d.votes(2)
    assert set(vote) == {"member", "timeframe", "p_up", "p_down", "exit", "weight", "reason"}
    assert d.p_win is not None and d.payoff is not None and d.p_win[2] > 0.5


def test_a_calibrated_certainty_is_clipped_before_it_reaches_kelly() -> None:
    # synthetic: an isotonic curve that says "always up" (y = 1) and a trend member that agrees (x1.25 boost)
    from papertrader.signals.calibration import BoardCalibration, Curve, MemberCalibration

    sure = Curve("isotonic", (0.0, 1.0), (1.0, 1.0))
    never = Curve("isotonic", (0.0, 1.0), (0.0, 0.0))
    cal = BoardCalibration("isotonic", "", "", {"a": MemberCalibration("a", sure, never, 100)})
    board = _board(probability_clip=0.02)
    members = [Fixed("a", "short", [0.6] * N, [0.3] * N), Fixed("t", "trend", [0.9] * N, [0.05] * N)]
    d = Ensemble(members, N, board, calibration=cal).decide(TS, _view())
    assert d.votes is not None and d.p_win is not None
    vote = d.votes(0)[0]
    assert vote["p_up"] == pytest.approx(0.98) and vote["p_down"] == pytest.approx(0.02)
    assert (d.weights > 0).all()
    assert (d.p_win <= 0.98 + 1e-12).all() and (d.p_win > 0.9).all()


def test_clipping_keeps_each_side_in_bounds_and_the_pair_at_most_one() -> None:
    from papertrader.signals.ensemble import bounded

    op = Opinion("a", "short", np.array([1.0, 0.0, 0.99, np.nan]), np.array([0.0, 1.0, 0.0, np.nan]),
                 np.zeros(4, dtype=bool), lambda i: "")  # fmt: skip
    out = bounded(op, 0.02)
    np.testing.assert_allclose(out.p_up[:3], [0.98, 0.02, 0.98])
    np.testing.assert_allclose(out.p_down[:3], [0.02, 0.98, 0.02])
    assert np.isnan(out.p_up[3]) and np.isnan(out.p_down[3])


def _scored_board(auto_apply: bool) -> Ensemble:
    """Two members over synthetic rising closes: 'a' always says up (right), 'b' always down (wrong)."""
    from papertrader.config.monitor import MonitorSettings
    from papertrader.signals.monitor import PerformanceMonitor

    settings = MonitorSettings(min_obs=5, prior_obs=0, propose_every=5, max_step=0.05, auto_apply=auto_apply)
    a = Fixed("a", "short", [0.7] * N, [0.2] * N)
    b = Fixed("b", "short", [0.2] * N, [0.7] * N)
    return Ensemble([a, b], N, _board(horizons={"a": 1, "b": 1}), monitor=PerformanceMonitor(N, settings))


def _rising(k: int) -> FeatureView:
    close = 100.0 * 1.01 ** np.arange(k + 1)[:, None] * np.ones((1, N))
    return FeatureView({"close": close}, k)


def test_monitor_proposals_move_base_weights_only_when_monitor_auto_apply_is_set() -> None:
    applied, proposed_only = _scored_board(True), _scored_board(False)
    kinds: set[str] = set()
    for k in range(40):
        applied.decide(TS, _rising(k))
        kinds |= {e.kind for e in proposed_only.decide(TS, _rising(k)).events}
    assert "monitor.proposal" in kinds, "the monitor proposes in both cases"
    assert proposed_only.base_weights == {"a": 1.0, "b": 1.0}
    assert applied.base_weights["a"] > 1.0 > applied.base_weights["b"]
    assert sum(applied.base_weights.values()) == pytest.approx(2.0)


def test_replaying_committed_cycles_rebuilds_the_same_board_as_deciding_them_live() -> None:
    whole, resumed = _scored_board(True), _scored_board(True)
    for k in range(30):
        whole.decide(TS, _rising(k))
    resumed.replay((TS, _rising(k)) for k in range(25))
    for k in range(25, 30):
        resumed.decide(TS, _rising(k))
    assert resumed.base_weights == whole.base_weights
    assert resumed.monitor is not None and whole.monitor is not None
    assert resumed.monitor.weight_multipliers() == whole.monitor.weight_multipliers()
    last = whole.decide(TS, _rising(30)).weights
    np.testing.assert_array_equal(resumed.decide(TS, _rising(30)).weights, last)


class Advisor(Fixed):
    """A fake advisor member that counts how often it was asked and whether it was closed (synthetic)."""

    def __init__(self) -> None:
        super().__init__("grok", "advisor", [0.6] * N, [0.2] * N)
        self.asked = 0
        self.closed = False

    def opine(self, ts: datetime, view: FeatureView) -> Opinion:
        self.asked += 1
        return super().opine(ts, view)

    def close(self) -> None:
        self.closed = True


def test_a_replay_never_asks_an_advisor_and_close_releases_it() -> None:
    advisor = Advisor()
    ens = Ensemble([Fixed("a", "short", [0.7] * N, [0.2] * N), advisor], N, _board())
    ens.replay((TS, _view(k)) for k in range(5))
    assert advisor.asked == 0, "replaying history must not spend advisor requests"
    ens.decide(TS, _view(5))
    assert advisor.asked == 1
    ens.close()
    assert advisor.closed


def test_drift_is_checked_on_the_first_cycle_and_every_drift_every_cycles_after() -> None:
    from papertrader.domain.events import DomainEvent, event_from_record

    seen: list[int] = []

    class Drift:
        def check(self, ts: datetime, view: FeatureView) -> list[DomainEvent]:
            seen.append(view.k)
            return [event_from_record(ts, "monitor.drift", {"cycle": view.k})]

    ens = Ensemble([Fixed("a", "short", [0.7] * N, [0.2] * N)], N, _board(), drift=[Drift()], drift_every=4)
    events = [e for k in range(10) for e in ens.decide(TS, _view(k)).events]
    assert seen == [0, 4, 8]
    assert [e.payload["cycle"] for e in events if e.kind == "monitor.drift"] == [0, 4, 8]
    ens.decide(TS, _view(9))  # the same cycle again (a restore) is not a new check
    assert seen == [0, 4, 8]
