"""Property-based checks of every operation against the API's own OpenAPI schema (schemathesis' Python API).

Each operation gets positive and negative generated requests with a valid token against the ASGI app;
schemathesis' default checks must pass: no 5xx, documented status codes, bodies matching their schemas,
invalid input rejected with 4xx. Generation is derandomized so CI sees the same cases every run (a random
draw once sent a scalar query parameter several times, which Starlette reads as its last value).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "api"))

from api_support import TOKEN, etf_bars, make_app, record_run

from papertrader.api.export_openapi import schema as openapi_schema
from papertrader.engine.control import RunControl
from papertrader.engine.live import LiveState

HEADERS = {"Authorization": f"Bearer {TOKEN}"}
OPERATIONS = sorted((method.upper(), path) for path, ops in openapi_schema()["paths"].items() for method in ops)


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A live (unfinished) run's app, so live and stored code paths are both reachable."""
    home = tmp_path_factory.mktemp("fuzz")
    run = record_run(home, etf_bars("2001-01-01"), 150, run_id="fuzz", every=50, finish=False)
    app = make_app(run, LiveState(run.engine, len(run.engine.panel)), RunControl())
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, headers=HEADERS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_never_errors_and_keeps_its_schema(api_schema: Any, method: str, path: str, mode: Any) -> None:
    operation = api_schema[path][method]
    strategy = operation.as_strategy(generation_mode=mode)

    @given(case=strategy)
    @settings(max_examples=6, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=HEADERS)

    if mode is GenerationMode.NEGATIVE and not (operation.query or operation.path_parameters or operation.body):
        pytest.skip("no inputs to make invalid")
    check()
