"""A member whose version did not pass the quality gate is heard with weight 0 and changes no decision.

Fake members with fixed probabilities (synthetic, stated per test) stand in for models; the gate records are
built with the real `evaluate_gate` on synthetic validation arrays.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest
from fixed_members import TS, Fixed, N

from papertrader.config.board import BoardSettings
from papertrader.config.monitor import MonitorSettings
from papertrader.features.view import FeatureView
from papertrader.models.gate import NO_GATE_REASON, evaluate_gate
from papertrader.models.registry import Manifest
from papertrader.signals.base import Decision
from papertrader.signals.ensemble import Ensemble
from papertrader.signals.gating import admission, admissions, left_out
from papertrader.signals.monitor import PerformanceMonitor


def _constant_gate_note() -> str:
    """The gate of a member whose P(up) never moves (synthetic validation labels), as the board shows it."""
    rng = np.random.default_rng(5)
    y = (rng.random(500) < 0.5).astype(np.int64)
    gate = evaluate_gate(np.tile([0.56, 0.44], (y.size, 1)), y, np.array([0.5, 0.5]), up_index=1)
    assert not gate.passed
    return gate.note("lstm")


def _manifest(metrics: dict[str, Any]) -> Manifest:
    return Manifest("lstm", "v0001", "2012-01-01", {}, "h", {}, "f", metrics, {}, None, {})


def _rising_then_falling(k: int) -> FeatureView:
    steps = np.where(np.arange(k + 1) < 20, 1.01, 0.99)
    close = 100.0 * np.cumprod(steps)[:, None] * np.array([[1.0, 1.1, 0.9]])
    return FeatureView({"close": close}, k)


def _board() -> BoardSettings:
    return BoardSettings.model_validate(
        {"base_weights": {"a": 1.0, "trend": 1.0, "lstm": 3.0}, "min_edge": 0.05, "horizons": {"a": 1, "trend": 1}}
    )


def _run(members: list[Fixed], left: dict[str, str] | None) -> list[Decision]:
    """40 cycles with a monitor that applies its proposals, so the monitor's state feeds back into weights."""
    settings = MonitorSettings(min_obs=5, prior_obs=0, propose_every=5, max_step=0.05, auto_apply=True)
    board = Ensemble(members, N, _board(), monitor=PerformanceMonitor(N, settings), left_out=left)
    return [board.decide(TS, _rising_then_falling(k)) for k in range(40)]


def _same(a: Decision, b: Decision) -> bool:
    events = [(e.kind, e.payload) for e in a.events] == [(e.kind, e.payload) for e in b.events]
    arrays = all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("weights", "confidence", "p_win", "payoff"))
    return events and arrays


def test_a_constant_member_that_failed_the_gate_gets_zero_weight_and_the_board_equals_the_board_without_it() -> None:
    note = _constant_gate_note()
    a = Fixed("a", "short", [0.7, 0.3, 0.6], [0.2, 0.6, 0.3])
    trend = Fixed("trend", "trend", [0.6] * N, [0.3] * N)
    constant = Fixed("lstm", "short", [0.05] * N, [0.9] * N, [True, False, True])  # loud, and asks to exit
    with_it = _run([a, constant, trend], {"lstm": note})
    without = _run([a, trend], None)
    heard = _run([a, constant, trend], None)
    assert all(_same(x, y) for x, y in zip(with_it, without, strict=True))
    assert not all(_same(x, y) for x, y in zip(heard, without, strict=True)), "the member would change the board"
    assert any(e.kind == "monitor.proposal" for d in with_it for e in d.events), "the monitor did move weights"
    last = with_it[-1]
    vote = next(v for v in last.votes(0) if v["member"] == "lstm")
    assert vote["weight"] == 0.0 and vote["p_up"] == pytest.approx(0.05)
    assert vote["reason"].startswith("lstm: left out, predictions do not move (P(up) std 0.000")
    assert "lstm: left out" in last.explain(0) and "EXIT" not in last.explain(0)


def test_the_left_out_member_shows_in_health_with_its_reason() -> None:
    note = _constant_gate_note()
    board = Ensemble([Fixed("lstm", "short", [0.4] * N, [0.5] * N), Fixed("a", "short", [0.7] * N, [0.2] * N)], N,
                     _board(), left_out={"lstm": note, "not-on-this-board": "ignored"})  # fmt: skip
    assert board.left_out == {"lstm": note}
    assert board.health()["lstm"]["left_out"] == note
    assert "left_out" not in board.health()["a"]


def test_when_no_member_may_vote_the_board_holds_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    note = _constant_gate_note()
    with caplog.at_level(logging.WARNING, logger="papertrader.signals.ensemble"):
        decisions = _run([Fixed("lstm", "short", [0.9] * N, [0.05] * N)], {"lstm": note})
    assert all((d.weights == 0).all() and (d.confidence == 0).all() for d in decisions)
    said = [r for r in caplog.records if "no board member may vote" in r.getMessage()]
    assert len(said) == 1, "once when the board is built, not once per cycle"
    assert note in said[0].getMessage()


def test_admission_follows_the_recorded_gate_and_a_version_without_one_is_left_out() -> None:
    rng = np.random.default_rng(6)
    up = rng.uniform(0.2, 0.8, 3_000)
    y = (rng.random(up.size) < up).astype(np.int64)
    passed = evaluate_gate(np.column_stack([1 - up, up]), y, np.array([0.5, 0.5]), 1)
    assert passed.passed
    failed = evaluate_gate(np.tile([0.5, 0.5], (y.size, 1)), y, np.array([0.5, 0.5]), 1)
    votes = admission("lstm", _manifest({"gate": passed.to_dict()}))
    refused = admission("lstm", _manifest({"gate": failed.to_dict()}))
    old = admission("gru", _manifest({"holdout": {"accuracy": 0.5}}))
    assert votes.votes and votes.note.startswith("lstm: votes, validation log loss")
    assert not refused.votes and refused.note.startswith("lstm: left out, predictions do not move")
    assert not old.votes and old.note == f"gru: left out, {NO_GATE_REASON}"
    manifests = {"lstm": _manifest({"gate": passed.to_dict()}), "gru": _manifest({})}
    assert left_out(admissions(manifests).values()) == {"gru": f"gru: left out, {NO_GATE_REASON}"}
