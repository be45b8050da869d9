"""Token auth: every protected route and the stream refuse a missing or wrong token; health alone is open."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from api_support import LOCAL, TEST_HOST, TOKEN, auth, make_app, shared_run
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from papertrader.api import ApiSettings, create_app, ensure_token
from papertrader.api.app import OPEN_PATHS, PREFIX
from papertrader.api.auth import SUBPROTOCOL, token_path
from papertrader.config.settings import Settings
from papertrader.core.errors import ConfigError

WRONG = [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer ", TOKEN]


@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(make_app(shared_run())) as c:
        yield c  # type: ignore[misc]


def _protected_routes(client: TestClient) -> list[tuple[str, str]]:
    routes = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and route.path.startswith(PREFIX) and route.path not in OPEN_PATHS:
            path = re.sub(r"\{[^}]+\}", "run-a", route.path)
            routes.extend((method, path) for method in sorted(route.methods))
    return routes


def test_every_route_is_versioned_except_the_dashboard_page(client: TestClient) -> None:
    routes = client.app.routes  # type: ignore[attr-defined]
    paths = {r.path for r in routes if isinstance(r, APIRoute | APIWebSocketRoute)}
    assert {p for p in paths if not p.startswith(PREFIX)} <= {"/"}, "only the dashboard's static page is unversioned"
    for name in ("portfolio", "positions", "orders", "fills", "trades", "equity", "pnl/daily", "signals", "risk"):
        assert f"{PREFIX}/{name}" in paths
    for action in ("pause", "resume", "stop", "flatten", "reset", "speed", "mode"):
        assert f"{PREFIX}/control/{action}" in paths
    assert {
        f"{PREFIX}/health",
        f"{PREFIX}/config",
        f"{PREFIX}/runs",
        f"{PREFIX}/stream",
        f"{PREFIX}/openapi.json",
    } <= paths


@pytest.mark.parametrize("header", WRONG, ids=lambda h: "missing" if h is None else h[:14])
def test_every_protected_route_refuses_a_missing_or_wrong_token(client: TestClient, header: str | None) -> None:
    routes = _protected_routes(client)
    assert len(routes) >= 20
    headers = {} if header is None else {"Authorization": header}
    for method, path in routes:
        response = client.request(method, path, headers=headers, json={"speed": 1.0, "mode": "live"})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in response.text


def test_with_the_token_no_protected_route_answers_401(client: TestClient) -> None:
    for method, path in _protected_routes(client):
        response = client.request(method, path, headers=auth(), json={"speed": 1.0, "mode": "live"})
        assert response.status_code != 401, (method, path)
        assert response.status_code < 500, (method, path, response.text)


def test_health_is_open_and_says_nothing_about_money(client: TestClient) -> None:
    response = client.get(f"{PREFIX}/health")
    assert response.status_code == 200
    assert set(response.json()) == {"status", "live", "run_id", "as_of", "components", "latency", "live_score"}


def test_openapi_schema_needs_the_token_and_declares_bearer_auth(client: TestClient) -> None:
    assert client.get(f"{PREFIX}/openapi.json").status_code == 401
    schema = client.get(f"{PREFIX}/openapi.json", headers=auth()).json()
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "the token in $PAPERTRADER_HOME/api-token",
    }
    assert schema["security"] == [{"bearerAuth": []}]
    assert schema["paths"][f"{PREFIX}/health"]["get"]["security"] == []


@pytest.mark.parametrize("query", ["", "?token=wrong", f"?token={TOKEN[:-1]}"])
def test_the_stream_refuses_a_missing_or_wrong_token_with_401(client: TestClient, query: str) -> None:
    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect(f"{PREFIX}/stream{query}"):
        pass
    assert denied.value.status_code == 401


def test_the_stream_refuses_a_wrong_bearer_subprotocol(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDenialResponse),
        client.websocket_connect(f"{PREFIX}/stream", subprotocols=[SUBPROTOCOL, "bearer.wrong"]),
    ):
        pass


def test_the_stream_accepts_the_token_as_query_or_subprotocol_and_never_echoes_it(client: TestClient) -> None:
    with client.websocket_connect(f"{PREFIX}/stream?token={TOKEN}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
    with client.websocket_connect(f"{PREFIX}/stream", subprotocols=[SUBPROTOCOL, f"bearer.{TOKEN}"]) as ws:
        assert ws.accepted_subprotocol == SUBPROTOCOL
        assert ws.receive_json()["type"] == "snapshot"


def test_the_stream_refuses_a_foreign_browser_origin(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDenialResponse) as denied,
        client.websocket_connect(f"{PREFIX}/stream?token={TOKEN}", headers={"Origin": "http://evil.example"}),
    ):
        pass
    assert denied.value.status_code == 403


def test_cors_allows_no_foreign_origin_by_default(client: TestClient) -> None:
    preflight = client.options(
        f"{PREFIX}/portfolio",
        headers={"Origin": "http://127.0.0.1:5173", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    response = client.get(f"{PREFIX}/portfolio", headers={**auth(), "Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_the_vite_dev_server_only_when_configured() -> None:
    app = make_app(shared_run(), api_settings=ApiSettings(dev_server=True, allowed_hosts=(TEST_HOST,)))
    with TestClient(app) as c:
        ok = c.options(
            f"{PREFIX}/portfolio",
            headers={
                "Origin": "http://127.0.0.1:5173",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert ok.headers["access-control-allow-origin"] == "http://127.0.0.1:5173"
        evil = c.options(
            f"{PREFIX}/portfolio",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in evil.headers


def test_the_token_is_created_once_owner_only_and_then_reused(tmp_path: Path) -> None:
    first = ensure_token(tmp_path)
    assert first.created and len(first.token) >= 40
    assert stat.S_IMODE(token_path(tmp_path).stat().st_mode) == 0o600
    again = ensure_token(tmp_path)
    assert not again.created and again.token == first.token


def test_a_token_file_others_can_read_is_restricted_to_its_owner(tmp_path: Path) -> None:
    issued = ensure_token(tmp_path)
    issued.path.chmod(0o644)
    assert ensure_token(tmp_path).token == issued.token
    assert stat.S_IMODE(issued.path.stat().st_mode) == 0o600


def test_an_empty_token_file_is_a_config_error_that_says_what_to_do(tmp_path: Path) -> None:
    token_path(tmp_path).write_text("\n")
    token_path(tmp_path).chmod(0o600)
    with pytest.raises(ConfigError, match="delete it"):
        ensure_token(tmp_path)


def test_the_app_uses_the_token_from_home_when_none_is_given(tmp_path: Path) -> None:
    run = shared_run()
    app = create_app(Settings(home=tmp_path), run.repo)
    token = token_path(tmp_path).read_text().strip()
    with TestClient(app, base_url=LOCAL) as c:
        assert c.get(f"{PREFIX}/runs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert c.get(f"{PREFIX}/runs", headers=auth()).status_code == 401
