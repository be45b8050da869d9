"""The FastAPI app factory: versioned read routes, audited controls, the WebSocket stream and the dashboard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
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

from papertrader.api.audit import AUDIT_FILE, AuditTrail
from papertrader.api.auth import BearerAuth, ensure_token
from papertrader.api.config import ApiSettings
from papertrader.api.context import ApiContext
from papertrader.api.hosts import HostGuard
from papertrader.api.routing import PREFIX, adopt
from papertrader.api.schemas import StreamMessage
from papertrader.api.stream import StreamHub, stream_endpoint
from papertrader.api.validation import strict_query, validation_error_handler
from papertrader.api.views import config, decisions, health, performance, portfolio, risk, runs, signals
from papertrader.api.views import control as controls
from papertrader.config.settings import Settings
from papertrader.engine.control import RunControl
from papertrader.engine.live import LiveState
from papertrader.persistence.repository import RunRepository

__all__ = ["OPENAPI_PATH", "OPEN_PATHS", "PREFIX", "create_app"]

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
    context = ApiContext(settings, repo, live, control, api_settings)
    auth = BearerAuth(token)
    hub = StreamHub(context)
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
    app.state.context = context
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

    # One router per resource, its routes adopted by the app in this order (the order of the schema's paths);
    # every route but health needs the token.
    protected = [Depends(auth), Depends(strict_query)]
    for resource in (
        health.router(context, [Depends(strict_query)]),
        runs.router(context, protected),
        decisions.router(context, protected),
        portfolio.router(context, protected),
        performance.router(context, protected),
        signals.router(context, protected),
        risk.router(context, protected),
        config.router(context, protected),
        controls.router(context, protected, audit, hub.post_control),
    ):
        adopt(app, resource)

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
