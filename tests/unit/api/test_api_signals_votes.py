"""GET /signals shows a board decision's votes as the ensemble stores them (member, timeframe, P(up), P(down),
exit, weight, reason), in the same shape as GET /runs/{id}/decisions and on the stream.

The run is recorded by the real engine on real ETF bars (skipped without shared data); the board's signal event
appended to it is synthetic, ensemble-shaped, and said so where it is built.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from api_support import auth, etf_bars, make_app, record_run
from fastapi.testclient import TestClient

from papertrader.api.app import PREFIX
from papertrader.api.schemas import SignalsView
from papertrader.api.views.signals import signal_view
from papertrader.domain.events import DomainEvent, event_from_record
from papertrader.persistence.repository import CycleRecord

VOTES: list[dict[str, Any]] = [  # synthetic: the ensemble's payload shape, not a model's output
    {"member": "lstm", "timeframe": "short", "p_up": 0.61, "p_down": 0.22, "exit": False, "weight": 0.39,
     "reason": "lstm (lstm v0001): raw P(up) 0.58 P(down) 0.25"},
    {"member": "gru", "timeframe": "trend", "p_up": None, "p_down": None, "exit": False, "weight": 0.0,
     "reason": "gru: no bar"},
    {"member": "ppo", "timeframe": "agent", "p_up": 0.2, "p_down": 0.7, "exit": True, "weight": 0.25,
     "reason": "ppo (ppo v0001): raw P(up) 0.20 P(down) 0.70 EXIT"},
]  # fmt: skip


def _board_event(ts: Any, votes: list[dict[str, Any]]) -> DomainEvent:
    payload = {"symbol": "SPY", "source": "ensemble", "target_weight": 0.0, "confidence": 1.0}
    return event_from_record(ts, "signal", {**payload, "rationale": "EXIT requested by ppo: target 0", "votes": votes})


def test_the_signals_route_shows_every_board_members_vote_as_stored(tmp_path: Path) -> None:
    run = record_run(tmp_path, etf_bars("2001-06-01"), 30, run_id="run-s")
    ts = run.engine.panel.ts[-1].to_pydatetime() + timedelta(days=1)
    cash = Decimal(100_000)
    event = _board_event(ts, VOTES)
    run.repo.record_cycles("run-s", [CycleRecord(30, ts, (), (), (), cash, Decimal(0), cash, 0.0, (event,))])
    with TestClient(make_app(run)) as client:
        response = client.get(PREFIX + "/signals?run=run-s&symbol=spy", headers=auth())
        decisions = client.get(PREFIX + "/runs/run-s/decisions?limit=1", headers=auth()).json()
    assert response.status_code == 200, response.text
    body = SignalsView.model_validate(response.json())
    assert body.ensemble_source == "ensemble"
    (spy,) = body.symbols
    assert spy.ensemble is not None
    shown = [v.model_dump() for v in spy.ensemble.votes]
    assert shown == VOTES
    assert shown == decisions["decisions"][0]["votes"]  # one vote shape for both routes


def test_a_vote_without_a_view_is_null_not_nan_and_malformed_votes_are_dropped() -> None:
    ts = etf_bars("2001-02-01")["ts"].iloc[0].to_pydatetime()
    odd = [{**VOTES[0], "p_up": float("nan"), "weight": float("inf")}, "not a vote"]
    view = signal_view(_board_event(ts, odd))  # type: ignore[arg-type]
    (vote,) = view.votes
    assert vote.member == "lstm" and vote.p_up is None and vote.weight == 0.0 and vote.p_down == 0.22
    assert view.model_dump_json()  # JSON-safe: no NaN or infinity reaches the wire
