"""Health: component status and cycle latency of the live engine, or the newest stored run's last word."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter

from papertrader.api.context import ApiContext
from papertrader.api.routing import INVALID, Guards, resource_router
from papertrader.api.schemas import HealthComponent, HealthView, LatencyView, LiveScoreView
from papertrader.api.views.convert import to_float


def latency_view(values: Mapping[str, float]) -> LatencyView:
    """LatencyTracker percentiles as a typed view."""
    return LatencyView(
        p50_ms=to_float(values.get("p50_ms")),
        p99_ms=to_float(values.get("p99_ms")),
        max_ms=to_float(values.get("max_ms")),
        cycles=int(to_float(values.get("cycles"))),
    )


def live_score_view(values: object) -> LiveScoreView | None:
    """A stored or streamed live score as a typed view (None when the run has none or it does not fit)."""
    if not isinstance(values, Mapping):
        return None
    try:
        return LiveScoreView.model_validate({k: values.get(k) for k in LiveScoreView.model_fields})
    except ValueError:
        return None


def health_view(ctx: ApiContext) -> HealthView:
    """Component health and cycle latency of the live engine, or the newest run's last word."""
    if ctx.live is not None:
        snap = ctx.live.snapshot()
        components = [HealthComponent(name=n, status=s) for n, s in sorted(snap.health.items())]
        statuses = set(snap.health.values())
        overall = "down" if "down" in statuses else "degraded" if "degraded" in statuses else "ok"
        return HealthView(
            status=overall,
            live=True,
            run_id=snap.run_id,
            as_of=snap.ts,
            components=components,
            latency=latency_view(snap.latency),
            live_score=live_score_view(snap.live_score),
        )
    rows = ctx.repo.list_runs()
    if not rows:
        return HealthView(status="idle", live=False, run_id=None, as_of=None, components=[], latency=None)
    summary = rows[0].summary or {}
    stored_health = summary.get("health") if isinstance(summary.get("health"), dict) else {}
    stored_latency = summary.get("cycle_latency")
    return HealthView(
        status="idle",
        live=False,
        run_id=rows[0].id,
        as_of=rows[0].last_cycle_ts,
        components=[HealthComponent(name=str(n), status=str(s)) for n, s in sorted((stored_health or {}).items())],
        latency=latency_view(stored_latency) if isinstance(stored_latency, dict) else None,
        live_score=live_score_view(summary.get("live_score")),
    )


def router(ctx: ApiContext, guards: Guards) -> APIRouter:
    """GET /health: open without a token (the app includes it without the auth dependency)."""
    api = resource_router(guards)

    @api.get(
        "/health",
        response_model=HealthView,
        tags=["health"],
        summary="Engine health and cycle latency",
        responses=INVALID,
    )
    def health() -> HealthView:
        """Open without a token, so a monitor can poll it; it carries no account data."""
        return health_view(ctx)

    return api
