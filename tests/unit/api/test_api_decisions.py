"""GET /runs/{id}/decisions and /runs/{id}/prices: the CLI's query over HTTP, stable pages, no future prices.

Runs are recorded by the real engine on real SPY/QQQ/IWM/EEM bars (skipped without shared data); the one
run with board votes appends synthetic ensemble-shaped signal events, said so where it is built.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from api_support import StoredRun, auth, etf_bars, make_app, record_run
from fastapi.testclient import TestClient

from papertrader.api.app import PREFIX
from papertrader.api.views.decisions import DecisionsView, PricesView
from papertrader.cli.board import stored_decisions
from papertrader.data.store import Lake
from papertrader.domain.events import event_from_record
from papertrader.persistence.repository import CycleRecord


@dataclass
class Served:
    run: StoredRun
    client: TestClient
    bars: pd.DataFrame


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """An unfinished trend run: 400 cycles committed of a window that runs to the end of 2002, bars in the lake."""
    home = tmp_path_factory.mktemp("decisions")
    bars = etf_bars("2003-01-01")
    Lake(home / "lake").write_bars(bars, "1d", "test")
    run = record_run(home, bars, 400, run_id="run-d", finish=False, every=60)
    with TestClient(make_app(run)) as client:
        yield Served(run, client, bars)


def _get(client: TestClient, path: str, status: int = 200) -> dict:  # type: ignore[type-arg]
    response = client.get(PREFIX + path, headers=auth())
    assert response.status_code == status, (path, response.text)
    return response.json()  # type: ignore[no-any-return]


def test_decisions_are_the_same_rows_as_the_decisions_command_newest_first(served: Served) -> None:
    body = DecisionsView.model_validate(_get(served.client, "/runs/run-d/decisions?limit=1000"))
    cli = stored_decisions(served.run.settings, "run-d")
    assert body.total == len(cli) > 0
    assert [d.model_dump(mode="json") | {"ts": d.ts.isoformat()} for d in body.decisions] == [
        row | {"votes": []} for row in reversed(cli)
    ]


def test_pages_follow_next_before_without_gaps_or_repeats(served: Served) -> None:
    everything = [d["seq"] for d in _get(served.client, "/runs/run-d/decisions?limit=1000")["decisions"]]
    seen: list[int] = []
    path = "/runs/run-d/decisions?limit=7"
    while True:
        page = _get(served.client, path)
        seen.extend(d["seq"] for d in page["decisions"])
        if page["next_before"] is None:
            break
        path = f"/runs/run-d/decisions?limit=7&before={page['next_before']}"
    assert seen == everything and len(everything) > 7


def test_symbol_filter_is_case_insensitive_and_an_unknown_symbol_is_an_empty_page(served: Served) -> None:
    body = _get(served.client, "/runs/run-d/decisions?symbol=spy&limit=1000")
    assert body["symbol"] == "SPY" and body["decisions"]
    assert {d["symbol"] for d in body["decisions"]} == {"SPY"}
    assert body["total"] == len(stored_decisions(served.run.settings, "run-d", "SPY"))
    assert _get(served.client, "/runs/run-d/decisions?symbol=NOPE") == {
        "run_id": "run-d",
        "symbol": "NOPE",
        "total": 0,
        "next_before": None,
        "decisions": [],
    }


def test_bad_requests_are_404_or_422_with_a_reason(served: Served) -> None:
    assert "GET /api/v1/runs" in _get(served.client, "/runs/nope/decisions", 404)["detail"]
    _get(served.client, "/runs/run-d/decisions?limit=0", 422)
    _get(served.client, "/runs/run-d/decisions?before=0", 422)
    _get(served.client, "/runs/run-d/decisions?symbl=SPY", 422)
    assert "does not trade" in _get(served.client, "/runs/run-d/prices?symbol=NOPE", 404)["detail"]
    _get(served.client, "/runs/run-d/prices", 422)
    assert served.client.get(PREFIX + "/runs/run-d/decisions").status_code == 401


def test_prices_are_the_lakes_closes_and_stop_at_the_last_committed_cycle(served: Served) -> None:
    body = PricesView.model_validate(_get(served.client, "/runs/run-d/prices?symbol=QQQ"))
    row = served.run.repo.get_run("run-d")
    assert row is not None and row.last_cycle == 399 and row.last_cycle_ts is not None and row.end is not None
    assert row.end - row.last_cycle_ts > timedelta(days=1000), "the lake and the run's window go much further"
    qqq = served.bars[served.bars["symbol"] == "QQQ"].set_index("ts")["close"]
    assert body.points and body.note is None
    assert all(p.ts <= row.last_cycle_ts for p in body.points), "no bar after the engine's last committed cycle"
    assert [p.ts for p in body.points] == [t.to_pydatetime() for t in qqq.index if t <= row.last_cycle_ts]
    for p in body.points[::50] + body.points[-1:]:
        assert p.close == pytest.approx(float(qqq[pd.Timestamp(p.ts)]))
    thin = _get(served.client, "/runs/run-d/prices?symbol=QQQ&max_points=10")
    assert len(thin["points"]) == 10 and thin["points"][-1] == body.model_dump(mode="json")["points"][-1]


def test_board_votes_come_back_per_member_with_null_for_no_view(tmp_path: Path) -> None:
    run = record_run(tmp_path, etf_bars("2001-06-01"), 30, run_id="run-v")
    ts = run.engine.panel.ts[-1].to_pydatetime() + timedelta(days=1)
    votes = [  # synthetic: the ensemble's payload shape, not a model's output
        {
            "member": "lstm",
            "timeframe": "daily",
            "p_up": 0.6,
            "p_down": 0.3,
            "exit": False,
            "weight": 0.4,
            "reason": "a",
        },
        {
            "member": "gru",
            "timeframe": "weekly",
            "p_up": None,
            "p_down": None,
            "exit": True,
            "weight": 0.0,
            "reason": "",
        },
    ]
    payload = {"symbol": "SPY", "source": "ensemble", "target_weight": 0.2, "confidence": 0.3, "rationale": "board"}
    event = event_from_record(ts, "signal", {**payload, "votes": votes})
    cash = Decimal(100_000)
    run.repo.record_cycles("run-v", [CycleRecord(30, ts, (), (), (), cash, Decimal(0), cash, 0.0, (event,))])
    with TestClient(make_app(run)) as client:
        newest = _get(client, "/runs/run-v/decisions?limit=1")["decisions"][0]
    assert newest["source"] == "ensemble" and newest["votes"] == votes
