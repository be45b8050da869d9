"""The FastAPI app factory: versioned read routes, audited controls, the WebSocket stream and the dashboard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import (
    get_openapi,
    validation_error_definition,
    validation_error_response_definition,
)
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import TypeAdapter

from papertrader.api import decisions as decisions_api
from papertrader.api.audit import AUDIT_FILE, AuditTrail
from papertrader.api.auth import BearerAuth, ensure_token
from papertrader.api.config import ApiSettings
from papertrader.api.hosts import HostGuard
from papertrader.api.schemas import (
    AuditView,
    ConfigView,
    ControlView,
    DailyPnlView,
    EquitySeries,
    ErrorView,
    FillsView,
    HealthView,
    ModeRequest,
    OrdersView,
    PortfolioView,
    PositionsView,
    RiskView,
    RunDetail,
    RunList,
    SignalsView,
    SpeedRequest,
    StreamMessage,
    TradesView,
)
from papertrader.api.service import ApiService
from papertrader.api.stream import StreamHub, stream_endpoint
from papertrader.api.validation import MAX_INT64, validation_error_handler
from papertrader.config.settings import Settings
from papertrader.engine.control import RunControl
from papertrader.engine.live import LiveState
from papertrader.persistence.repository import RunRepository

PREFIX = "/api/v1"
OPENAPI_PATH = f"{PREFIX}/openapi.json"
STATIC_DIR = Path(__file__).resolve().parent / "static"
OPEN_PATHS = frozenset({f"{PREFIX}/health"})

DESCRIPTION = """\
Local paper-trading engine: portfolio, performance, signals, risk, trade log, health and controls.

**Auth.** Every route except `GET /api/v1/health` needs `Authorization: Bearer <token>`. The token is created
on first start in `$PAPERTRADER_HOME/api-token` (mode 0600) and printed once.

**Runs.** Read routes take `?run=ID`; without it they show the live run (when this process runs one), else the
newest stored run. 404 means no such run (or none stored yet).

**Controls** (`/api/v1/control/*`) steer the live run between cycles and answer 409 when there is none, when
it has finished. `POST /control/mode` switches the live run between `paper` trading and `observe`-only (signals
and risk run, no orders are sent) from the next cycle; a resumed run keeps the mode. Each action is logged with
the client address and appended to `$PAPERTRADER_HOME/api-audit.jsonl`.

**Stream.** `GET /api/v1/stream` upgrades to a WebSocket. Authenticate with `?token=<token>` or, to keep the
token out of URLs, the subprotocols `papertrader.v1` and `bearer.<token>` (the server accepts
`papertrader.v1`). Messages are JSON `{"type": ..., "data": ...}` as described by the `StreamMessage` schema:
`snapshot` on connect and whenever the client must resynchronise (refetch lists then), `cycle` (the newest
state; intermediate cycles are dropped for slow clients), `fill`, `signal`, `risk`, `health`, `control`.
Send `{"type": "resync"}` to get a fresh snapshot.
"""

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorView, "description": "missing or wrong bearer token"}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorView, "description": "no such run, or none yet"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorView, "description": "no live run to steer, or the run has finished"}
}

BAD_BODY: dict[int | str, dict[str, Any]] = {400: {"model": ErrorView, "description": "the body is not valid JSON"}}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "invalid or unknown parameters",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
    }
}
Responses = dict[int | str, dict[str, Any]]
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

RunParam = Annotated[
    str | None, Query(max_length=256, description="run id; default: the live run, else the newest stored run")
]
Limit = Annotated[int, Query(ge=1, le=10_000, description="most items to return, newest first")]


def _query_names(dependant: Any) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _strict_query(request: Request) -> None:
    """Refuse unknown query parameters (422 like any invalid input), so `?runs=x` is not silently ignored."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    unknown = sorted(set(request.query_params) - _query_names(dependant))
    if unknown:
        raise RequestValidationError(
            [
                {"type": "extra_forbidden", "loc": ("query", name), "msg": "unknown query parameter", "input": None}
                for name in unknown
            ]
        )


def _client(request: Request) -> str:
    return f"{request.client.host}:{request.client.port}" if request.client else "unknown"


def create_app(
    settings: Settings,
    repo: RunRepository,
    live: LiveState | None = None,
    control: RunControl | None = None,
    *,
    api_settings: ApiSettings | None = None,
    token: str | None = None,
) -> FastAPI:
    """The API over a repository, plus a live engine's state and controls when given."""
    api_settings = api_settings or ApiSettings()
    token = token or ensure_token(settings.home).token
    service = ApiService(settings, repo, live, control, api_settings)
    auth = BearerAuth(token)
    hub = StreamHub(service)
    audit = AuditTrail(settings.home / AUDIT_FILE)
    origins = api_settings.allowed_origins()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        hub.bind(asyncio.get_running_loop())
        remove = live.add_listener(hub.on_engine) if live is not None else None
        try:
            yield
        finally:
            if remove is not None:
                remove()
            hub.unbind()

    app = FastAPI(
        title="papertrader API",
        version="1",
        description=DESCRIPTION,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.hub = hub
    app.state.audit = audit
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
        )
    app.middleware("http")(_security_headers)
    app.add_middleware(HostGuard, allowed=api_settings.trusted_hosts())  # outermost: before CORS and routing

    protected = [Depends(auth), Depends(_strict_query)]

    def get(path: str, model: Any, tag: str, responses: Responses | None = None) -> Decorator:
        """A GET route that needs the token (routes live on the app itself, so app.routes lists them all)."""
        return app.get(
            PREFIX + path,
            response_model=model,
            tags=[tag],
            dependencies=protected,
            responses={**UNAUTHORIZED, **INVALID, **(responses or {})},
        )

    def post(path: str, model: Any) -> Decorator:
        """A POST control route that needs the token and answers 409 when there is nothing to steer."""
        return app.post(
            PREFIX + path,
            response_model=model,
            tags=["control"],
            dependencies=protected,
            responses={**UNAUTHORIZED, **BAD_BODY, **INVALID, **CONFLICT},
        )

    @app.get(
        f"{PREFIX}/health",
        response_model=HealthView,
        tags=["health"],
        summary="Engine health and cycle latency",
        dependencies=[Depends(_strict_query)],
        responses=INVALID,
    )
    def health() -> HealthView:
        """Open without a token, so a monitor can poll it; it carries no account data."""
        return service.health()

    @get("/runs", RunList, "runs")
    def runs() -> RunList:
        """Stored runs, newest first."""
        return service.runs()

    @get("/runs/{run_id}", RunDetail, "runs", NOT_FOUND)
    def run_detail(run_id: str) -> RunDetail:
        """One run with its summary and masked configuration."""
        return service.run_detail(run_id)

    @get("/runs/{run_id}/decisions", decisions_api.DecisionsView, "signals", NOT_FOUND)
    def run_decisions(
        run_id: str,
        symbol: Annotated[str | None, Query(max_length=32, description="only this symbol")] = None,
        limit: Annotated[int, Query(ge=1, le=1000, description="most decisions to return, newest first")] = 100,
        before: Annotated[
            int | None, Query(ge=1, le=MAX_INT64, description="only decisions with seq below this (paging)")
        ] = None,
    ) -> decisions_api.DecisionsView:
        """Each target change with every board member's vote, weight and reason (as `papertrader decisions`)."""
        return decisions_api.decisions(service, run_id, symbol, limit, before)

    @get("/runs/{run_id}/prices", decisions_api.PricesView, "signals", NOT_FOUND)
    def run_prices(
        run_id: str,
        symbol: Annotated[str, Query(min_length=1, max_length=32, description="a symbol the run trades")],
        max_points: Annotated[int, Query(ge=2, le=100_000, description="thin the series to this many points")] = 5000,
    ) -> decisions_api.PricesView:
        """One symbol's closes over the run's window, up to its last committed cycle."""
        return decisions_api.prices(service, run_id, symbol, max_points)

    @get("/portfolio", PortfolioView, "portfolio", NOT_FOUND)
    def portfolio(run: RunParam = None) -> PortfolioView:
        """Cash, equity, P&L, exposure and drawdown now."""
        return service.portfolio(run)

    @get("/positions", PositionsView, "portfolio", NOT_FOUND)
    def positions(run: RunParam = None) -> PositionsView:
        """Open positions with marks and weights."""
        return service.positions(run)

    @get("/orders", OrdersView, "portfolio", NOT_FOUND)
    def orders(run: RunParam = None, limit: Limit = 500, open_only: bool = False) -> OrdersView:
        """Orders, newest first."""
        return service.orders(run, limit, open_only)

    @get("/fills", FillsView, "portfolio", NOT_FOUND)
    def fills(run: RunParam = None, limit: Limit = 500) -> FillsView:
        """Fills, newest first."""
        return service.fills(run, limit)

    @get("/trades", TradesView, "portfolio", NOT_FOUND)
    def trades(
        run: RunParam = None,
        limit: Limit = 500,
        offset: Annotated[int, Query(ge=0, le=10_000_000, description="skip this many newer fills (paging)")] = 0,
    ) -> TradesView:
        """The trade log: fills with realised P&L and the position each left, newest first, a page at a time."""
        return service.trades(run, limit, offset)

    @get("/equity", EquitySeries, "performance", NOT_FOUND)
    def equity(
        run: RunParam = None,
        max_points: Annotated[int, Query(ge=2, le=100_000, description="thin the curve to this many points")] = 5000,
    ) -> EquitySeries:
        """Equity and drawdown per cycle beside buy-and-hold."""
        return service.equity(run, max_points)

    @get("/pnl/daily", DailyPnlView, "performance", NOT_FOUND)
    def daily_pnl(run: RunParam = None) -> DailyPnlView:
        """P&L per New York trading day."""
        return service.daily_pnl(run)

    @get("/signals", SignalsView, "signals", NOT_FOUND)
    def signals(
        run: RunParam = None,
        symbol: Annotated[str | None, Query(max_length=32, description="only this symbol")] = None,
        limit: Limit = 200,
    ) -> SignalsView:
        """Latest target per symbol and model, the ensemble and its votes, recent changes."""
        return service.signals(run, symbol, limit)

    @get("/risk", RiskView, "risk", NOT_FOUND)
    def risk(run: RunParam = None, limit: Limit = 200) -> RiskView:
        """Drawdown, exposure against limits, halt state and alerts."""
        return service.risk(run, limit)

    @get("/config", ConfigView, "system", NOT_FOUND)
    def config(run: RunParam = None) -> ConfigView:
        """Effective configuration, secrets masked."""
        return service.config(run)

    @get("/control", ControlView, "control")
    def control_state() -> ControlView:
        """What can be steered now and what was asked."""
        return service.control_view()

    @get("/audit", AuditView, "control")
    def audit_log() -> AuditView:
        """Recent control actions and who asked, newest first."""
        return AuditView(entries=audit.entries())

    def act(request: Request, action: str, detail: str, apply: Callable[[RunControl], None]) -> ControlView:
        client, agent = _client(request), request.headers.get("user-agent", "")
        state = service.control_view()
        if not state.available or control is None:
            audit.record(client, agent, action, f"{detail}; refused: {state.reason}", accepted=False)
            raise HTTPException(status.HTTP_409_CONFLICT, detail=state.reason or "no live run")
        try:
            apply(control)
        except ValueError as exc:  # the control refuses what the loop could not honour; the run goes on
            audit.record(client, agent, action, f"{detail}; refused: {exc}", accepted=False)
            raise HTTPException(422, detail=str(exc)) from exc
        entry = audit.record(client, agent, action, detail, accepted=True)
        after = service.control_view()
        hub.post_control(entry, after)
        return after

    @post("/control/pause", ControlView)
    def pause(request: Request) -> ControlView:
        """Finish the current cycle, then wait."""
        return act(request, "pause", "pause after the current cycle", lambda c: c.pause())

    @post("/control/resume", ControlView)
    def resume(request: Request) -> ControlView:
        """Continue after a pause."""
        return act(request, "resume", "resume the loop", lambda c: c.resume())

    @post("/control/stop", ControlView)
    def stop(request: Request) -> ControlView:
        """Commit the current cycle and end the run (it can be resumed later)."""
        return act(request, "stop", "stop after the current cycle", lambda c: c.stop())

    @post("/control/flatten", ControlView)
    def flatten(request: Request) -> ControlView:
        """Close every position at the next bar and take no new risk until reset."""
        return act(request, "flatten", "flatten all positions and halt", lambda c: c.request_flatten())

    @post("/control/reset", ControlView)
    def reset(request: Request) -> ControlView:
        """Reset the kill switch: a halted run may trade again."""
        return act(request, "reset", "reset the kill switch (unhalt)", lambda c: c.request_reset())

    @post("/control/speed", ControlView)
    def speed(request: Request, body: SpeedRequest) -> ControlView:
        """Change replay speed (market seconds per wall second; 0 = as fast as possible)."""
        return act(request, "speed", f"set speed to {body.speed:g}", lambda c: c.set_speed(body.speed))

    @post("/control/mode", ControlView)
    def mode(request: Request, body: ModeRequest) -> ControlView:
        """Paper trading or observe-only (signals and risk run, no orders are sent), from the next cycle."""
        observe = body.mode == "observe"
        detail = "observe only: signals and risk, no orders" if observe else "paper trading: decisions become orders"
        return act(request, "mode", detail, lambda c: c.request_mode(observe))

    @app.get(OPENAPI_PATH, include_in_schema=False, dependencies=protected)
    def openapi_json() -> JSONResponse:
        """The schema, behind the token like every route but health."""
        return JSONResponse(app.openapi())

    app.add_api_websocket_route(f"{PREFIX}/stream", stream_endpoint(hub, auth, origins), name="stream")

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    _mount_dashboard(app, api_settings.static_dir or STATIC_DIR)
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The schema with bearer auth declared and the stream's message types among the components."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "the token in $PAPERTRADER_HOME/api-token",
    }
    schema["security"] = [{"bearerAuth": []}]
    for path in OPEN_PATHS:
        for operation in schema["paths"].get(path, {}).values():
            operation["security"] = []
    message = TypeAdapter(StreamMessage).json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    schemas = components.setdefault("schemas", {})
    schemas.setdefault("ValidationError", validation_error_definition)
    schemas.setdefault("HTTPValidationError", validation_error_response_definition)
    for name, definition in message.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas["StreamMessage"] = message
    app.openapi_schema = schema
    return schema


NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>papertrader</title></head>
<body style="font-family:system-ui;margin:2rem"><h1>papertrader API</h1>
<p>The dashboard is not built. Run <code>make web</code> (needs Node.js), then restart.</p>
<p>The API is at <code>/api/v1</code>; its schema at <code>/api/v1/openapi.json</code> (bearer token needed).</p>
</body></html>"""


def _mount_dashboard(app: FastAPI, directory: Path) -> None:
    """Serve the built dashboard at /, or a page saying how to build it."""
    if (directory / "index.html").is_file():
        app.mount("/", StaticFiles(directory=directory, html=True), name="dashboard")
        return

    @app.get("/", include_in_schema=False)
    def not_built() -> HTMLResponse:
        return HTMLResponse(NOT_BUILT)


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


async def _security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """No sniffing, no framing, no referrer; a strict content policy for the dashboard's pages."""
    response = await call_next(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if not request.url.path.startswith(PREFIX):
        response.headers.setdefault("Content-Security-Policy", CSP)
    if request.url.path.startswith(PREFIX):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
