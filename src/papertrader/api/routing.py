"""How every resource router declares its routes: the prefix, the guards, the documented errors, the parameters.

Each resource module's `router(ctx, guards)` returns an APIRouter whose routes are complete: full path under
PREFIX, and the guards the app hands in (the bearer token and the strict-query check; health gets the
strict-query check only). `adopt` then puts those routes on the app itself rather than `include_router`, which
in current FastAPI keeps an included router as one opaque entry: `app.routes` must list every route, so the
auth tests can walk them and prove each one needs the token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, params

from papertrader.api.schemas import ErrorView

PREFIX = "/api/v1"

Responses = dict[int | str, dict[str, Any]]
Guards = Sequence[params.Depends]
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

UNAUTHORIZED: Responses = {401: {"model": ErrorView, "description": "missing or wrong bearer token"}}
NOT_FOUND: Responses = {404: {"model": ErrorView, "description": "no such run, or none yet"}}
CONFLICT: Responses = {409: {"model": ErrorView, "description": "no live run to steer, or the run has finished"}}
BAD_BODY: Responses = {400: {"model": ErrorView, "description": "the body is not valid JSON"}}
INVALID: Responses = {
    422: {
        "description": "invalid or unknown parameters",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
    }
}

RunParam = Annotated[
    str | None, Query(max_length=256, description="run id; default: the live run, else the newest stored run")
]
Limit = Annotated[int, Query(ge=1, le=10_000, description="most items to return, newest first")]


def resource_router(guards: Guards) -> APIRouter:
    """A router for one resource: its routes under PREFIX, each behind the app's guards."""
    return APIRouter(prefix=PREFIX, dependencies=list(guards))


def adopt(app: FastAPI, router: APIRouter) -> None:
    """Serve a resource router's routes from the app itself, in order, so `app.routes` lists each one."""
    app.router.routes.extend(router.routes)


def get(router: APIRouter, path: str, model: Any, tag: str, responses: Responses | None = None) -> Decorator:
    """A GET route that documents 401 and 422 besides its own errors (the router's guards check the token)."""
    return router.get(
        path, response_model=model, tags=[tag], responses={**UNAUTHORIZED, **INVALID, **(responses or {})}
    )


def post(router: APIRouter, path: str, model: Any) -> Decorator:
    """A POST control route that documents 401, 400, 422 and 409 (nothing to steer)."""
    return router.post(
        path, response_model=model, tags=["control"], responses={**UNAUTHORIZED, **BAD_BODY, **INVALID, **CONFLICT}
    )
