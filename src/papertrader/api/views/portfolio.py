"""The portfolio now: cash, equity, P&L, exposure and drawdown; positions, orders, fills and the trade log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query

from papertrader.api.context import ApiContext
from papertrader.api.routing import NOT_FOUND, Guards, Limit, RunParam, get, resource_router
from papertrader.api.schemas import (
    FillsView,
    FillView,
    OrdersView,
    OrderView,
    PortfolioView,
    PositionsView,
    PositionView,
    TradesView,
    TradeView,
)
from papertrader.api.views.convert import finite
from papertrader.domain.types import Fill, Order, Position
from papertrader.engine.live import Snapshot
from papertrader.persistence.repository import RunRow


def fill_view(fill: Fill) -> FillView:
    """A domain fill as the API shows it."""
    return FillView(
        seq=fill.seq,
        ts=fill.ts,
        order_id=fill.order_id,
        symbol=fill.symbol,
        side=fill.side.value,
        qty=fill.qty,
        price=float(fill.price),
        fee=float(fill.fee),
        notional=float(fill.notional),
    )


def order_view(order: Order) -> OrderView:
    """A domain order as the API shows it."""
    return OrderView(
        id=order.id,
        symbol=order.symbol,
        side=order.side.value,
        qty=order.qty,
        type=order.type.value,
        status=order.status.value,
        filled_qty=order.filled_qty,
        avg_fill_price=float(order.avg_fill_price) if order.filled_qty else None,
        limit_price=None if order.limit_price is None else float(order.limit_price),
        reason=order.reason,
        tag=order.tag,
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


def snapshot_positions(snap: Snapshot) -> list[PositionView]:
    """Live positions, largest market value first."""
    views = [
        PositionView(
            symbol=p.symbol,
            qty=p.qty,
            avg_price=p.avg_price,
            mark=p.mark,
            market_value=p.market_value,
            unrealized_pnl=p.unrealized_pnl,
            realized_pnl=p.realized_pnl,
            weight=p.weight,
        )
        for p in snap.positions
        if p.qty != 0
    ]
    return sorted(views, key=lambda v: -abs(v.market_value or 0.0))


def run_progress(row: RunRow, ts: datetime | None) -> float | None:
    """How far through its window a run is at `ts` (0 to 1), None when the window is unknown."""
    if ts is None or row.start is None or row.end is None or row.end <= row.start:
        return None
    share = (ts - row.start) / (row.end - row.start)
    return float(min(1.0, max(0.0, share)))


def portfolio_view(ctx: ApiContext, run: str | None) -> PortfolioView:
    """Cash, equity, P&L, exposure and drawdown of the run now."""
    row = ctx.resolve(run)
    curve = ctx.curve(row)
    fills = ctx.repo.load_fills(row.id)
    fees = float(sum(f.fee for f in fills))
    initial = float(row.initial_cash)
    snap = ctx.live_snapshot(row)
    frame = curve.frame
    if snap is not None and snap.cycle >= 0:
        cash, equity, gross = snap.cash, snap.equity, snap.gross_exposure
        market_value = equity - cash
        as_of, cycle = snap.ts, snap.cycle
        peak = max(snap.peak_equity, float(curve.peak[-1]) if len(curve.peak) else initial)
        open_positions = sum(1 for p in snap.positions if p.qty != 0)
        working, halted = snap.working_orders, snap.halted
    elif len(frame):
        last = frame.iloc[-1]
        cash, equity = float(last["cash"]), float(last["equity"])
        market_value, gross = float(last["market_value"]), finite(float(last["gross_exposure"]))
        as_of, cycle = last["ts"].to_pydatetime(), int(last["cycle"])
        peak = float(curve.peak[-1])
        open_positions = sum(1 for p in ctx.repo.load_positions(row.id) if p.qty != 0)
        working = sum(1 for o in ctx.repo.load_orders(row.id) if o.is_open)
        halted = snap.halted if snap is not None else _stored_halt(ctx, row)
    else:
        cash = equity = peak = initial
        market_value = gross = 0.0
        as_of, cycle, open_positions, working = None, None, 0, 0
        halted = None if snap is None else snap.halted
    drawdown = min(0.0, equity / peak - 1.0) if peak > 0 else 0.0
    return PortfolioView(
        run_id=row.id,
        source="live" if snap is not None else "stored",
        status=row.status.value,
        mode=row.mode.value,
        interval=row.interval,
        symbols=list(row.symbols),
        as_of=as_of,
        cycle=cycle,
        cycles_done=len(frame),
        progress=run_progress(row, as_of),
        initial_cash=initial,
        cash=cash,
        market_value=market_value,
        equity=equity,
        total_pnl=equity - initial,
        total_return=equity / initial - 1.0 if initial else 0.0,
        gross_exposure=gross,
        peak_equity=peak,
        drawdown=drawdown,
        max_drawdown=min(curve.max_drawdown, drawdown),
        open_positions=open_positions,
        working_orders=working,
        fees_paid=fees,
        halted=halted,
    )


def _stored_halt(ctx: ApiContext, row: RunRow) -> str | None:
    """Why a stored run was halted at its last cycle (its last halt event), or None."""
    halts = ctx.repo.load_events(row.id, ["halt"])
    if not halts or not halts[-1].payload.get("halted"):
        return None
    return str(halts[-1].payload.get("reason", "halted"))


def _stored_positions(ctx: ApiContext, row: RunRow) -> list[PositionView]:
    """A stored run's open positions marked at the lake's last close of its last cycle, largest first."""
    held = [p for p in ctx.repo.load_positions(row.id) if p.qty != 0]
    if not held:
        return []
    frame = ctx.repo.load_equity(row.id)
    equity = float(frame["equity"].iloc[-1]) if len(frame) else float(row.initial_cash)
    market = ctx.market_data(row)
    marks: dict[str, float] = {}
    if market.panel is not None and len(frame):
        closes = market.panel.last_closes(int(frame["cycle"].iloc[-1]))
        marks = {s: float(c) for s, c in zip(market.panel.symbols, closes, strict=True) if np.isfinite(c)}
    views = [_position_view(p, marks.get(p.symbol), equity) for p in held]
    return sorted(views, key=lambda v: -abs(v.market_value or 0.0))


def _position_view(position: Position, mark: float | None, equity: float) -> PositionView:
    qty = position.qty
    value = None if mark is None else mark * qty
    return PositionView(
        symbol=position.symbol,
        qty=qty,
        avg_price=float(position.avg_price),
        mark=mark,
        market_value=value,
        unrealized_pnl=None if mark is None else float(mark * qty - float(position.cost_basis)),
        realized_pnl=float(position.realized_pnl),
        weight=None if value is None or equity <= 0 else value / equity,
    )


def positions_view(ctx: ApiContext, run: str | None) -> PositionsView:
    """Open positions with marks, P&L and weights."""
    row = ctx.resolve(run)
    snap = ctx.live_snapshot(row)
    if snap is not None and snap.cycle >= 0:
        return PositionsView(run_id=row.id, source="live", as_of=snap.ts, positions=snapshot_positions(snap))
    return PositionsView(
        run_id=row.id,
        source="stored" if snap is None else "live",
        as_of=row.last_cycle_ts,
        positions=_stored_positions(ctx, row),
    )


def orders_view(ctx: ApiContext, run: str | None, limit: int, open_only: bool) -> OrdersView:
    """Orders newest first, optionally only the working ones."""
    row = ctx.resolve(run)
    orders = [o for o in ctx.repo.load_orders(row.id) if o.is_open or not open_only]
    orders.sort(key=lambda o: (o.updated_at or o.created_at, o.id), reverse=True)
    return OrdersView(run_id=row.id, total=len(orders), orders=[order_view(o) for o in orders[:limit]])


def fills_view(ctx: ApiContext, run: str | None, limit: int) -> FillsView:
    """Fills newest first."""
    row = ctx.resolve(run)
    fills = ctx.repo.load_fills(row.id)
    newest = list(reversed(fills))[:limit]
    return FillsView(run_id=row.id, total=len(fills), fills=[fill_view(f) for f in newest])


def trades_view(ctx: ApiContext, run: str | None, limit: int, offset: int = 0) -> TradesView:
    """The trade log: each fill with its FIFO realised P&L and the position it left."""
    row = ctx.resolve(run)
    fills = ctx.repo.load_fills(row.id)
    orders = {o.id: o for o in ctx.repo.load_orders(row.id)}
    positions: dict[str, Position] = {}
    trades: list[TradeView] = []
    for fill in fills:
        before = positions.get(fill.symbol, Position(fill.symbol))
        after = before.apply(fill.side, fill.qty, fill.price)
        positions[fill.symbol] = after
        order = orders.get(fill.order_id)
        trades.append(
            TradeView(
                **fill_view(fill).model_dump(),
                realized_pnl=float(after.realized_pnl - before.realized_pnl),
                position_after=after.qty,
                tag="" if order is None else order.tag,
                reason="" if order is None else order.reason,
            )
        )
    return TradesView(
        run_id=row.id,
        total=len(trades),
        realized_pnl_total=float(sum((t.realized_pnl for t in trades), start=0.0)),
        fees_total=float(sum((t.fee for t in trades), start=0.0)),
        trades=list(reversed(trades))[offset : offset + limit],
        offset=offset,
    )


def router(ctx: ApiContext, guards: Guards) -> APIRouter:
    """GET /portfolio, /positions, /orders, /fills and /trades."""
    api = resource_router(guards)

    @get(api, "/portfolio", PortfolioView, "portfolio", NOT_FOUND)
    def portfolio(run: RunParam = None) -> PortfolioView:
        """Cash, equity, P&L, exposure and drawdown now."""
        return portfolio_view(ctx, run)

    @get(api, "/positions", PositionsView, "portfolio", NOT_FOUND)
    def positions(run: RunParam = None) -> PositionsView:
        """Open positions with marks and weights."""
        return positions_view(ctx, run)

    @get(api, "/orders", OrdersView, "portfolio", NOT_FOUND)
    def orders(run: RunParam = None, limit: Limit = 500, open_only: bool = False) -> OrdersView:
        """Orders, newest first."""
        return orders_view(ctx, run, limit, open_only)

    @get(api, "/fills", FillsView, "portfolio", NOT_FOUND)
    def fills(run: RunParam = None, limit: Limit = 500) -> FillsView:
        """Fills, newest first."""
        return fills_view(ctx, run, limit)

    @get(api, "/trades", TradesView, "portfolio", NOT_FOUND)
    def trades(
        run: RunParam = None,
        limit: Limit = 500,
        offset: Annotated[int, Query(ge=0, le=10_000_000, description="skip this many newer fills (paging)")] = 0,
    ) -> TradesView:
        """The trade log: fills with realised P&L and the position each left, newest first, a page at a time."""
        return trades_view(ctx, run, limit, offset)

    return api
