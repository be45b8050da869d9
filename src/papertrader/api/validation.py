"""422 answers that always serialise: a client's NaN, Infinity or odd object must never turn into a 500.

Unknown query parameters count as invalid input too (`strict_query`), so a typo is not silently ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

#: Longest echo of a client's input inside an error (the whole body is the client's own, but keep answers small).
MAX_INPUT_CHARS = 200

#: SQLite stores signed 64-bit integers; a larger query integer would overflow inside the driver (a 500).
MAX_INT64 = 2**63 - 1


def _query_names(dependant: Any) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def strict_query(request: Request) -> None:
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


def json_safe(value: Any) -> Any:
    """A strict-JSON copy: non-finite floats and unknown objects become strings, long strings are cut."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return value if len(value) <= MAX_INPUT_CHARS else value[:MAX_INPUT_CHARS] + "…"
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes):
        return json_safe(value.decode("utf-8", "replace"))
    return json_safe(str(value))


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 body (`{"detail": [...]}`), made strict JSON whatever the client sent."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else [{"msg": str(exc)}]
    return JSONResponse({"detail": json_safe(list(errors))}, status_code=422)
