"""The live engine's newest state as one `cycle` stream message: no database reads but the cached run row."""

from __future__ import annotations

from papertrader.api.context import ApiContext
from papertrader.api.schemas import CycleData, HealthComponent
from papertrader.api.views.control import control_view
from papertrader.api.views.health import latency_view
from papertrader.api.views.portfolio import run_progress, snapshot_positions


def cycle_data(ctx: ApiContext) -> CycleData | None:
    """The newest live state for a `cycle` stream message (no database reads, except a cached row)."""
    if ctx.live is None:
        return None
    snap = ctx.live.snapshot()
    row = ctx.live_row()
    initial = float(row.initial_cash) if row is not None else snap.peak_equity
    return CycleData(
        run_id=snap.run_id,
        cycle=snap.cycle,
        ts=snap.ts,
        progress=None if row is None else run_progress(row, snap.ts),
        initial_cash=initial,
        cash=snap.cash,
        equity=snap.equity,
        total_pnl=snap.equity - initial,
        total_return=snap.equity / initial - 1.0 if initial else 0.0,
        gross_exposure=snap.gross_exposure,
        peak_equity=snap.peak_equity,
        drawdown=min(0.0, snap.drawdown),
        working_orders=snap.working_orders,
        halted=snap.halted,
        positions=snapshot_positions(snap),
        health=[HealthComponent(name=n, status=s) for n, s in sorted(snap.health.items())],
        latency=latency_view(snap.latency),
        control=control_view(ctx, check_stored=False),
    )
