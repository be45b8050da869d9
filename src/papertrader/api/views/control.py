"""Controls: what can be steered now, the audit of who asked, and the audited actions on the live run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, status

from papertrader.api.audit import AuditTrail
from papertrader.api.context import ApiContext
from papertrader.api.routing import Guards, get, post, resource_router
from papertrader.api.schemas import AuditEntry, AuditView, ControlView, ModeRequest, SpeedRequest
from papertrader.engine.control import RunControl

#: Tells stream clients about an accepted action and the control state after it.
Announce = Callable[[AuditEntry, ControlView], None]


def control_view(ctx: ApiContext, check_stored: bool = True) -> ControlView:
    """The control state; unavailable (with the reason) when no live run can be steered.

    check_stored=False skips the database read of the run's status (cycle messages: a run that is still
    producing cycles has not finished).
    """
    row = ctx.live_row() if ctx.control is not None else None
    snap = None if ctx.live is None else ctx.live.snapshot()
    halted = None if snap is None else snap.halted
    if ctx.control is None or ctx.live is None or row is None:
        return ControlView(
            available=False,
            reason=(
                "no live run: this server shows stored runs; controls steer a running "
                "`papertrader paper --replay` or `papertrader demo`"
            ),
            run_id=None if snap is None else snap.run_id,
            mode=None if row is None else row.mode.value,
            paused=False,
            stopping=False,
            flatten_requested=False,
            speed=None,
            halted=halted,
        )
    state = ctx.control.state()
    current = ctx.repo.get_run(row.id) if check_stored else row
    finished = current is not None and current.status.value != "running"
    return ControlView(
        available=not finished and not state.stopping,
        reason=(
            f"run {row.id} is {current.status.value}"
            if finished and current is not None
            else "the run is stopping"
            if state.stopping
            else None
        ),
        run_id=row.id,
        mode=row.mode.value,
        paused=state.paused,
        stopping=state.stopping,
        flatten_requested=state.flatten_requested,
        speed=state.speed,
        halted=halted,
        trading=_trading(ctx, snap),
    )


def _trading(ctx: ApiContext, snap: Any) -> Literal["paper", "observe"] | None:
    """The live run's trading mode: a switch the operator asked for, else the engine's current one."""
    if snap is None:
        return None
    pending = None if ctx.control is None else ctx.control.pending_mode()
    observing = snap.observing if pending is None else pending
    return "observe" if observing else "paper"


def _client(request: Request) -> str:
    return f"{request.client.host}:{request.client.port}" if request.client else "unknown"


def router(ctx: ApiContext, guards: Guards, audit: AuditTrail, announce: Announce) -> APIRouter:
    """GET /control and /audit; POST /control/{pause,resume,stop,flatten,reset,speed,mode}, each audited."""
    api = resource_router(guards)
    control = ctx.control

    @get(api, "/control", ControlView, "control")
    def control_state() -> ControlView:
        """What can be steered now and what was asked."""
        return control_view(ctx)

    @get(api, "/audit", AuditView, "control")
    def audit_log() -> AuditView:
        """Recent control actions and who asked, newest first."""
        return AuditView(entries=audit.entries())

    def act(request: Request, action: str, detail: str, apply: Callable[[RunControl], None]) -> ControlView:
        client, agent = _client(request), request.headers.get("user-agent", "")
        state = control_view(ctx)
        if not state.available or control is None:
            audit.record(client, agent, action, f"{detail}; refused: {state.reason}", accepted=False)
            raise HTTPException(status.HTTP_409_CONFLICT, detail=state.reason or "no live run")
        try:
            apply(control)
        except ValueError as exc:  # the control refuses what the loop could not honour; the run goes on
            audit.record(client, agent, action, f"{detail}; refused: {exc}", accepted=False)
            raise HTTPException(422, detail=str(exc)) from exc
        entry = audit.record(client, agent, action, detail, accepted=True)
        after = control_view(ctx)
        announce(entry, after)
        return after

    @post(api, "/control/pause", ControlView)
    def pause(request: Request) -> ControlView:
        """Finish the current cycle, then wait."""
        return act(request, "pause", "pause after the current cycle", lambda c: c.pause())

    @post(api, "/control/resume", ControlView)
    def resume(request: Request) -> ControlView:
        """Continue after a pause."""
        return act(request, "resume", "resume the loop", lambda c: c.resume())

    @post(api, "/control/stop", ControlView)
    def stop(request: Request) -> ControlView:
        """Commit the current cycle and end the run (it can be resumed later)."""
        return act(request, "stop", "stop after the current cycle", lambda c: c.stop())

    @post(api, "/control/flatten", ControlView)
    def flatten(request: Request) -> ControlView:
        """Close every position at the next bar and take no new risk until reset."""
        return act(request, "flatten", "flatten all positions and halt", lambda c: c.request_flatten())

    @post(api, "/control/reset", ControlView)
    def reset(request: Request) -> ControlView:
        """Reset the kill switch: a halted run may trade again."""
        return act(request, "reset", "reset the kill switch (unhalt)", lambda c: c.request_reset())

    @post(api, "/control/speed", ControlView)
    def speed(request: Request, body: SpeedRequest) -> ControlView:
        """Change replay speed (market seconds per wall second; 0 = as fast as possible)."""
        return act(request, "speed", f"set speed to {body.speed:g}", lambda c: c.set_speed(body.speed))

    @post(api, "/control/mode", ControlView)
    def mode(request: Request, body: ModeRequest) -> ControlView:
        """Paper trading or observe-only (signals and risk run, no orders are sent), from the next cycle."""
        observe = body.mode == "observe"
        detail = "observe only: signals and risk, no orders" if observe else "paper trading: decisions become orders"
        return act(request, "mode", detail, lambda c: c.request_mode(observe))

    return api
