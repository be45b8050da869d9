"""The shared decisions query: filters by symbol in SQL, pages by seq without gaps or repeats, keeps every vote.

Synthetic signal events (the ensemble's payload shape) stored through the real repository on SQLite.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from persistence_scenario import T0
from sqlalchemy import Engine

from papertrader.domain.events import event_from_record
from papertrader.persistence import CycleRecord, RunRepository
from papertrader.persistence.decisions import load_decisions

VOTES = [
    {"member": "lstm", "timeframe": "daily", "p_up": 0.61, "p_down": 0.2, "exit": False, "weight": 0.8, "reason": "r"},
    {"member": "ppo", "timeframe": "daily", "p_up": None, "p_down": None, "exit": True, "weight": 0.0, "reason": "x"},
]


def _store(repo: RunRepository, run_id: str, cycles: int) -> None:
    """Each cycle: a target change for AAPL and MSFT plus an unrelated fill-like event in between."""
    records = []
    for c in range(cycles):
        ts = T0 + timedelta(days=c)
        events = (
            event_from_record(ts, "signal", {"symbol": "AAPL", "source": "ensemble", "target_weight": 0.1 * c,
                                             "confidence": 0.5, "rationale": f"a{c}", "votes": VOTES}),
            event_from_record(ts, "order.denied", {"symbol": "AAPL", "rule": "cash"}),
            event_from_record(ts, "signal", {"symbol": "MSFT", "source": "ensemble", "target_weight": -0.1,
                                             "confidence": "nan", "rationale": f"m{c}"}),
        )  # fmt: skip
        records.append(
            CycleRecord(c, ts, (), (), (), Decimal(100), Decimal(0), Decimal(100), 0.0, events)  # empty book
        )
    repo.record_cycles(run_id, records)


def test_symbol_filter_runs_in_the_query_and_returns_only_that_symbols_signals(
    repo: RunRepository, engine: Engine, run_id: str
) -> None:
    _store(repo, run_id, 4)
    page = load_decisions(engine, run_id, symbol="AAPL", newest_first=False)
    assert page.total == 4 and [d.rationale for d in page.decisions] == ["a0", "a1", "a2", "a3"]
    assert load_decisions(engine, run_id, symbol="NOPE").total == 0


def test_pages_newest_first_cover_every_decision_once_and_end_with_no_cursor(
    repo: RunRepository, engine: Engine, run_id: str
) -> None:
    _store(repo, run_id, 5)
    seen: list[int] = []
    before = None
    while True:
        page = load_decisions(engine, run_id, limit=3, before=before)
        assert page.total == 10
        seen.extend(d.seq for d in page.decisions)
        if page.next_before is None:
            break
        before = page.next_before
    everything = [d.seq for d in load_decisions(engine, run_id).decisions]
    assert seen == everything == sorted(everything, reverse=True) and len(seen) == 10


def test_votes_keep_every_member_and_bad_numbers_become_none_or_zero(
    repo: RunRepository, engine: Engine, run_id: str
) -> None:
    _store(repo, run_id, 1)
    aapl, msft = load_decisions(engine, run_id, newest_first=False).decisions
    assert [v.member for v in aapl.votes] == ["lstm", "ppo"]
    assert aapl.votes[1].p_up is None and aapl.votes[1].exit is True
    assert aapl.to_json()["votes"] == VOTES
    assert msft.votes == () and msft.confidence == 0.0 and msft.target_weight == -0.1


def test_matches_the_repositorys_own_event_log(repo: RunRepository, engine: Engine, run_id: str) -> None:
    _store(repo, run_id, 3)
    events = repo.load_events(run_id, ["signal"])
    decisions = load_decisions(engine, run_id, newest_first=False).decisions
    assert [(e.ts, e.payload["symbol"], e.payload["rationale"]) for e in events] == [
        (d.ts, d.symbol, d.rationale) for d in decisions
    ]
