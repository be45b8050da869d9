"""Performance: equity and drawdown per cycle beside buy-and-hold, and P&L per New York trading day."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import numpy as np
from fastapi import APIRouter, Query

from papertrader.api.context import ApiContext, Market
from papertrader.api.routing import NOT_FOUND, Guards, RunParam, get, resource_router
from papertrader.api.schemas import DailyPnl, DailyPnlView, EquityPoint, EquitySeries
from papertrader.api.views.convert import finite

NEW_YORK = ZoneInfo("America/New_York")
BENCHMARK_NAME = "equal-weight buy-and-hold of the same symbols, same window and entry costs"


def equity_series(ctx: ApiContext, run: str | None, max_points: int) -> EquitySeries:
    """Equity, drawdown and benchmark per cycle, thinned evenly to at most max_points (last kept)."""
    row = ctx.resolve(run)
    curve = ctx.curve(row)
    market = ctx.market_data(row) if len(curve.frame) else Market(None, 0, None, "no cycles yet")
    frame = curve.frame
    n = len(frame)
    idx = np.arange(n)
    if n > max_points:
        idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
    cycles = frame["cycle"].to_numpy()
    bench = market.benchmark
    points = []
    for i in idx:
        k = int(cycles[i]) - market.first
        b = float(bench[k]) if bench is not None and 0 <= k < len(bench) else None
        points.append(
            EquityPoint(
                ts=frame["ts"].iloc[i].to_pydatetime(),
                cycle=int(cycles[i]),
                equity=float(frame["equity"].iloc[i]),
                drawdown=float(curve.drawdown[i]),
                gross_exposure=finite(float(frame["gross_exposure"].iloc[i])),
                benchmark=b,
            )
        )
    return EquitySeries(
        run_id=row.id,
        source="live" if ctx.live_snapshot(row) else "stored",
        initial_cash=float(row.initial_cash),
        benchmark_name=BENCHMARK_NAME if bench is not None else None,
        benchmark_note=market.note,
        max_drawdown=curve.max_drawdown,
        points=points,
    )


def daily_pnl_view(ctx: ApiContext, run: str | None) -> DailyPnlView:
    """Profit and loss per New York session date, from the last equity of each day."""
    row = ctx.resolve(run)
    frame = ctx.repo.load_equity(row.id)
    if frame.empty:
        return DailyPnlView(run_id=row.id, days=[])
    dates = frame["ts"].dt.tz_convert(NEW_YORK).dt.date
    closing = frame.groupby(dates, sort=True)["equity"].last()
    prev = closing.shift(1).fillna(float(row.initial_cash))
    days = [
        DailyPnl(date=d, pnl=float(e - p), day_return=float(e / p - 1.0) if p else 0.0, equity=float(e))
        for d, e, p in zip(closing.index, closing.to_numpy(), prev.to_numpy(), strict=True)
    ]
    return DailyPnlView(run_id=row.id, days=days)


def router(ctx: ApiContext, guards: Guards) -> APIRouter:
    """GET /equity and /pnl/daily."""
    api = resource_router(guards)

    @get(api, "/equity", EquitySeries, "performance", NOT_FOUND)
    def equity(
        run: RunParam = None,
        max_points: Annotated[int, Query(ge=2, le=100_000, description="thin the curve to this many points")] = 5000,
    ) -> EquitySeries:
        """Equity and drawdown per cycle beside buy-and-hold."""
        return equity_series(ctx, run, max_points)

    @get(api, "/pnl/daily", DailyPnlView, "performance", NOT_FOUND)
    def daily_pnl(run: RunParam = None) -> DailyPnlView:
        """P&L per New York trading day."""
        return daily_pnl_view(ctx, run)

    return api
