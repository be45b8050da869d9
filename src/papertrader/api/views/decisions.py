"""The board's decisions over HTTP: each target change with every member's vote, and the prices they were made on.

`GET /runs/{id}/decisions` reads the same query as `papertrader decisions` (persistence.decisions), newest
first, paged by the events' seq. `GET /runs/{id}/prices` gives one symbol's closes up to the run's last
committed cycle, never later: a live replay's chart must not show bars the engine has not reached.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query
from pydantic import Field

from papertrader.api.context import ApiContext, no_such_run, not_found
from papertrader.api.routing import NOT_FOUND, Guards, get, resource_router
from papertrader.api.schemas import ApiModel, DecisionVote
from papertrader.api.validation import MAX_INT64
from papertrader.api.views.signals import vote_view
from papertrader.persistence.decisions import StoredDecision, load_decisions

__all__ = [
    "DecisionView",
    "DecisionVote",
    "DecisionsView",
    "PricePoint",
    "PricesView",
    "decisions_view",
    "prices_view",
    "router",
]


class DecisionView(ApiModel):
    """A target change for one symbol, as committed with its cycle."""

    seq: int = Field(description="run-wide event sequence number; pass it as `before` to page on")
    cycle: int
    ts: datetime
    symbol: str
    source: str
    target_weight: float
    confidence: float
    rationale: str
    votes: list[DecisionVote] = Field(description="every board member's vote; empty for a single strategy")


class DecisionsView(ApiModel):
    """One page of a run's decisions, newest first."""

    run_id: str
    symbol: str | None
    total: int = Field(description="decisions matching the symbol filter, all pages together")
    next_before: int | None = Field(description="`before` for the next (older) page; null on the last page")
    decisions: list[DecisionView]


class PricePoint(ApiModel):
    """A bar's close at its start time."""

    ts: datetime
    close: float


class PricesView(ApiModel):
    """One symbol's closes over a run's window up to its last committed cycle."""

    run_id: str
    symbol: str
    interval: str
    points: list[PricePoint]
    note: str | None = Field(description="why there are no prices (e.g. the lake lacks the run's bars)")


def decision_view(d: StoredDecision) -> DecisionView:
    """A stored decision as the API shows it (non-finite numbers as null)."""
    return DecisionView(
        seq=d.seq,
        cycle=d.cycle,
        ts=d.ts,
        symbol=d.symbol,
        source=d.source,
        target_weight=d.target_weight,
        confidence=d.confidence,
        rationale=d.rationale,
        votes=[vote_view(v) for v in d.votes],
    )


def decisions_view(ctx: ApiContext, run_id: str, symbol: str | None, limit: int, before: int | None) -> DecisionsView:
    """A page of the run's decisions (404 for an unknown run; an unknown symbol is an empty page)."""
    row = ctx.repo.get_run(run_id)
    if row is None:
        raise no_such_run(run_id)
    wanted = symbol.upper() if symbol else None
    page = load_decisions(ctx.repo.engine, row.id, symbol=wanted, limit=limit, before=before)
    return DecisionsView(
        run_id=row.id,
        symbol=wanted,
        total=page.total,
        next_before=page.next_before,
        decisions=[decision_view(d) for d in page.decisions],
    )


def prices_view(ctx: ApiContext, run_id: str, symbol: str, max_points: int) -> PricesView:
    """One symbol's closes from the run's first trading bar to its last committed cycle, thinned evenly."""
    row = ctx.repo.get_run(run_id)
    if row is None:
        raise no_such_run(run_id)
    wanted = symbol.upper()
    if wanted not in row.symbols:
        raise not_found(f"run {row.id} does not trade {wanted!r}; it trades {', '.join(row.symbols)}")

    def empty(note: str) -> PricesView:
        return PricesView(run_id=row.id, symbol=wanted, interval=row.interval, points=[], note=note)

    if row.last_cycle_ts is None:
        return empty("no cycles committed yet")
    market = ctx.market_data(row)  # cached per run; the same bars the positions are marked with
    panel = market.panel
    if panel is None or wanted not in panel.symbols:
        return empty(market.note or f"the lake has no {row.interval} bars for {wanted}")
    last = int(panel.ts.searchsorted(row.last_cycle_ts, side="right"))  # bars up to the last committed cycle
    closes = panel.traded.close[market.first : last, panel.symbols.index(wanted)]  # as traded, like the fills
    stamps = panel.ts[market.first : last]
    keep = np.flatnonzero(np.isfinite(closes))
    if len(keep) > max_points:
        keep = keep[np.unique(np.linspace(0, len(keep) - 1, max_points).round().astype(int))]
    points = [PricePoint(ts=stamps[int(i)].to_pydatetime(), close=float(closes[i])) for i in keep]
    return PricesView(
        run_id=row.id,
        symbol=wanted,
        interval=row.interval,
        points=points,
        note=None if points else f"no {wanted} bars in the run's window yet",
    )


def router(ctx: ApiContext, guards: Guards) -> APIRouter:
    """GET /runs/{run_id}/decisions and /runs/{run_id}/prices."""
    api = resource_router(guards)

    @get(api, "/runs/{run_id}/decisions", DecisionsView, "signals", NOT_FOUND)
    def run_decisions(
        run_id: str,
        symbol: Annotated[str | None, Query(max_length=32, description="only this symbol")] = None,
        limit: Annotated[int, Query(ge=1, le=1000, description="most decisions to return, newest first")] = 100,
        before: Annotated[
            int | None, Query(ge=1, le=MAX_INT64, description="only decisions with seq below this (paging)")
        ] = None,
    ) -> DecisionsView:
        """Each target change with every board member's vote, weight and reason (as `papertrader decisions`)."""
        return decisions_view(ctx, run_id, symbol, limit, before)

    @get(api, "/runs/{run_id}/prices", PricesView, "signals", NOT_FOUND)
    def run_prices(
        run_id: str,
        symbol: Annotated[str, Query(min_length=1, max_length=32, description="a symbol the run trades")],
        max_points: Annotated[int, Query(ge=2, le=100_000, description="thin the series to this many points")] = 5000,
    ) -> PricesView:
        """One symbol's closes over the run's window, up to its last committed cycle."""
        return prices_view(ctx, run_id, symbol, max_points)

    return api
