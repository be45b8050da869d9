"""The committed web/openapi.json is the app's schema, so the dashboard's generated client cannot drift."""

from __future__ import annotations

import json
from pathlib import Path

from papertrader.api.export_openapi import render, schema

WEB = Path(__file__).resolve().parents[3] / "web"


def test_the_committed_schema_matches_the_app() -> None:
    committed = WEB / "openapi.json"
    assert committed.read_text(encoding="utf-8") == render(), (
        "web/openapi.json is stale: run `.venv/bin/python -m papertrader.api.export_openapi` then `npm run gen:api`"
    )


def test_the_schema_describes_every_stream_message_type() -> None:
    schemas = schema()["components"]["schemas"]
    mapping = schemas["StreamMessage"]["discriminator"]["mapping"]
    assert set(mapping) == {"snapshot", "cycle", "fill", "signal", "risk", "health", "control"}
    for ref in mapping.values():
        name = ref.rsplit("/", 1)[1]
        assert schemas[name]["required"] == ["type", "data"]


def test_every_operation_documents_its_errors_and_has_a_typed_success_body() -> None:
    for path, methods in schema()["paths"].items():
        for method, op in methods.items():
            ok = op["responses"]["200"]["content"]["application/json"]["schema"]
            assert "$ref" in ok, (method, path)
            if path != "/api/v1/health":
                assert "401" in op["responses"], (method, path)
            if path.startswith("/api/v1/control/"):
                assert "409" in op["responses"], (method, path)


def test_the_export_is_stable_text() -> None:
    text = render()
    assert text.endswith("}\n") and json.loads(text) == schema()
