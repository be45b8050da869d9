"""Risk: drawdown and exposure against the run's limits, capital buckets and sectors, halt state and alerts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from fastapi import APIRouter
from pydantic import BaseModel

from papertrader.api.context import ApiContext
from papertrader.api.routing import NOT_FOUND, Guards, Limit, RunParam, get, resource_router
from papertrader.api.schemas import BucketView, LargestPosition, PositionView, RiskLimits, RiskView
from papertrader.api.views.alerts import alert_view
from papertrader.api.views.convert import nan_to_null, to_float
from papertrader.api.views.portfolio import portfolio_view, positions_view
from papertrader.config.settings import RiskSettings
from papertrader.data.universe import universe_sectors
from papertrader.domain.events import ALERT_KINDS
from papertrader.risk.sectors import with_sectors


def risk_view(ctx: ApiContext, run: str | None, limit: int) -> RiskView:
    """Drawdown and exposure against the run's limits, halt state, and recent alerts."""
    row = ctx.resolve(run)
    port = portfolio_view(ctx, row.id)
    limits: RiskSettings = ctx.run_settings(row).risk
    events = ctx.repo.load_events(row.id, list(ALERT_KINDS))
    if ctx.live is not None and ctx.live_snapshot(row) is not None:
        stored = {(e.ts, e.kind) for e in events}
        events += [e for e in ctx.live.recent_events(("halt",)) if (e.ts, e.kind) not in stored]
    events.sort(key=lambda e: e.ts)
    positions = positions_view(ctx, row.id).positions
    weighted = [p for p in positions if p.weight is not None]
    largest = max(weighted, key=lambda p: abs(p.weight or 0.0), default=None)
    return RiskView(
        run_id=row.id,
        source=port.source,
        drawdown=port.drawdown,
        max_drawdown=port.max_drawdown,
        peak_equity=port.peak_equity,
        gross_exposure=port.gross_exposure,
        gross_limit_used=port.gross_exposure / limits.max_gross_exposure,
        largest_position=None
        if largest is None
        else LargestPosition(symbol=largest.symbol, weight=float(largest.weight or 0.0)),
        halted=port.halted,
        limits=RiskLimits(
            max_position_fraction=limits.max_position_fraction,
            max_gross_exposure=limits.max_gross_exposure,
            allow_short=limits.allow_short,
            min_order_notional=limits.min_order_notional,
            max_drawdown=_optional_float(limits, "max_drawdown"),
            daily_loss_limit=_optional_float(limits, "daily_loss_limit"),
            settings=nan_to_null(limits.model_dump(mode="json")),
        ),
        buckets=_buckets(limits, positions),
        sectors=sector_buckets(limits, positions, ctx.settings.home),
        alert_counts=dict(Counter(e.kind for e in events)),
        alerts=[alert_view(e) for e in reversed(events[-limit:])],
    )


def _optional_float(settings: BaseModel, name: str) -> float | None:
    """A risk setting that only some versions of RiskSettings define."""
    value = getattr(settings, name, None)
    return None if value is None else to_float(value)


def sector_buckets(limits: RiskSettings, positions: Sequence[PositionView], home: Path) -> list[BucketView]:
    """Gross weight per sector of the held symbols, against the sector cap, as the risk engine groups them."""
    cap = getattr(limits, "max_sector_fraction", None)
    if cap is None:
        return []
    held = [p.symbol for p in positions]
    sectors = dict(getattr(limits, "sectors", {}) or {})
    if getattr(limits, "sectors_from_universe", False):
        sectors = with_sectors(limits, universe_sectors(home, held)).sectors
    members: dict[str, list[PositionView]] = {}
    for p in positions:
        if p.symbol in sectors:
            members.setdefault(sectors[p.symbol], []).append(p)
    return [
        BucketView(
            name=name,
            weight=float(sum(abs(p.weight or 0.0) for p in group)),
            cap=to_float(cap),
            symbols=sorted(p.symbol for p in group),
        )
        for name, group in sorted(members.items())
    ]


def _buckets(limits: RiskSettings, positions: Sequence[PositionView]) -> list[BucketView]:
    """Gross weight per capital bucket (ETF list, penny price, else core), when the settings define buckets."""
    caps = {name: getattr(limits, f"{name}_cap", None) for name in ("core", "etf", "speculative")}
    if any(cap is None for cap in caps.values()):
        return []
    etfs = set(getattr(limits, "etfs", ()))
    penny = to_float(getattr(limits, "penny_below", 0.0))
    members: dict[str, list[PositionView]] = {name: [] for name in caps}
    for p in positions:
        if p.symbol in etfs:
            members["etf"].append(p)
        elif p.mark is not None and p.mark < penny:
            members["speculative"].append(p)
        else:
            members["core"].append(p)
    return [
        BucketView(
            name=name,
            weight=float(sum(abs(p.weight or 0.0) for p in held)),
            cap=to_float(caps[name]),
            symbols=sorted(p.symbol for p in held),
        )
        for name, held in members.items()
    ]


def router(ctx: ApiContext, guards: Guards) -> APIRouter:
    """GET /risk."""
    api = resource_router(guards)

    @get(api, "/risk", RiskView, "risk", NOT_FOUND)
    def risk(run: RunParam = None, limit: Limit = 200) -> RiskView:
        """Drawdown, exposure against limits, halt state and alerts."""
        return risk_view(ctx, run, limit)

    return api
