"""The stored runs: a list, newest first, and one run with its summary and masked configuration."""

from __future__ import annotations

from fastapi import APIRouter

from papertrader.api.context import ApiContext, no_such_run
from papertrader.api.routing import NOT_FOUND, Guards, get, resource_router
from papertrader.api.schemas import RunDetail, RunList, RunSummary
from papertrader.api.views.config import mask_secrets
from papertrader.api.views.convert import nan_to_null, to_float
from papertrader.persistence.repository import RunRow


def run_summary(row: RunRow, live_id: str | None) -> RunSummary:
    """A stored run's row as the API lists it (`live` when the engine in this process runs it)."""
    summary = row.summary or {}
    final = summary.get("final_equity")
    total = summary.get("total_return")
    return RunSummary(
        id=row.id,
        mode=row.mode.value,
        status=row.status.value,
        interval=row.interval,
        symbols=list(row.symbols),
        start=row.start,
        end=row.end,
        created_at=row.created_at,
        finished_at=row.finished_at,
        initial_cash=float(row.initial_cash),
        last_cycle=row.last_cycle,
        last_cycle_ts=row.last_cycle_ts,
        final_equity=None if final is None else to_float(final),
        total_return=None if total is None else to_float(total),
        live=row.id == live_id,
    )


def run_list(ctx: ApiContext) -> RunList:
    """Every stored run, newest first."""
    live_id = ctx.live_run_id()
    return RunList(live_run_id=live_id, runs=[run_summary(r, live_id) for r in ctx.repo.list_runs()])


def run_detail_view(ctx: ApiContext, run_id: str) -> RunDetail:
    """One run with its summary and masked configuration."""
    row = ctx.repo.get_run(run_id)
    if row is None:
        raise no_such_run(run_id)
    base = run_summary(row, ctx.live_run_id())
    return RunDetail(
        **base.model_dump(),
        summary=None if row.summary is None else mask_secrets(nan_to_null(row.summary)),
        config=mask_secrets(nan_to_null(row.config)),
    )


def router(ctx: ApiContext, guards: Guards) -> APIRouter:
    """GET /runs and GET /runs/{run_id}."""
    api = resource_router(guards)

    @get(api, "/runs", RunList, "runs")
    def runs() -> RunList:
        """Stored runs, newest first."""
        return run_list(ctx)

    @get(api, "/runs/{run_id}", RunDetail, "runs", NOT_FOUND)
    def run_detail(run_id: str) -> RunDetail:
        """One run with its summary and masked configuration."""
        return run_detail_view(ctx, run_id)

    return api
