"""Only loopback Host names (or ones the operator lists) are answered: a DNS-rebinding page gets nothing."""

from __future__ import annotations

import logging

import pytest
from api_support import LOCAL, TOKEN, auth, make_app, shared_run
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from papertrader.api import ApiSettings
from papertrader.api.app import PREFIX
from papertrader.api.hosts import host_allowed, host_name


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(make_app(shared_run(), api_settings=ApiSettings()), base_url=LOCAL)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8000", "localhost", "LOCALHOST:9", "[::1]", "[::1]:8000"])
def test_loopback_hosts_with_any_port_are_answered(client: TestClient, host: str) -> None:
    assert client.get(f"{PREFIX}/health", headers={"Host": host}).status_code == 200
    assert client.get(f"{PREFIX}/runs", headers={**auth(), "Host": host}).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil.example", "[::1", "a:b:c"]
)
def test_any_other_host_gets_400_on_the_api_and_the_dashboard(client: TestClient, host: str) -> None:
    for path in (f"{PREFIX}/health", "/", f"{PREFIX}/runs"):
        response = client.get(path, headers={**auth(), "Host": host})
        assert response.status_code == 400, (path, host)
        assert "run-a" not in response.text and "status" not in response.text


def test_the_trailing_slash_redirect_never_echoes_a_foreign_host(client: TestClient) -> None:
    ok = client.get(f"{PREFIX}/runs/", headers=auth(), follow_redirects=False)
    # 307 to /runs without the dashboard built; with it, the dashboard's files own unknown paths (404)
    assert ok.status_code in (200, 307, 404)
    assert "evil.example" not in ok.headers.get("location", "")
    evil = client.get(f"{PREFIX}/runs/", headers={**auth(), "Host": "evil.example"}, follow_redirects=False)
    assert evil.status_code == 400 and "evil.example" not in evil.headers.get("location", "")


def test_the_stream_refuses_a_foreign_host_before_the_handshake(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(f"ws://evil.example{PREFIX}/stream?token={TOKEN}"),
    ):
        pass
    assert refused.value.code == 1008
    with client.websocket_connect(f"ws://127.0.0.1{PREFIX}/stream?token={TOKEN}") as ws:
        assert ws.receive_json()["type"] == "snapshot"


def test_a_listed_host_and_a_concrete_bind_address_are_answered() -> None:
    settings = ApiSettings(allowed_hosts=("box.lan",), host="192.168.1.5")
    with TestClient(make_app(shared_run(), api_settings=settings), base_url=LOCAL) as c:
        for host in ("box.lan:8000", "BOX.LAN", "192.168.1.5:8000", "localhost"):
            assert c.get(f"{PREFIX}/health", headers={"Host": host}).status_code == 200, host
        assert c.get(f"{PREFIX}/health", headers={"Host": "other.lan"}).status_code == 400


def test_host_names_are_parsed_not_pattern_matched() -> None:
    assert host_name("[::1]:80") == "::1" and host_name("Example.COM:1") == "example.com"
    assert host_name("[::1]x") is None and host_name("h:x") is None and host_name("") is None
    assert host_allowed(None) and host_allowed("127.8.9.1") and not host_allowed("0.0.0.0")


def test_binding_beyond_loopback_warns_loudly_about_plain_http() -> None:
    assert ApiSettings().exposure_warning() is None
    assert ApiSettings(host="::1").exposure_warning() is None
    warning = ApiSettings(host="0.0.0.0").exposure_warning()
    assert warning is not None and "WARNING" in warning and "TLS" in warning


def test_a_refused_host_is_logged_once_not_per_request(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="papertrader.api.hosts"):
        for _ in range(5):
            assert client.get(f"{PREFIX}/health", headers={"Host": "flood.example"}).status_code == 400
    assert sum("flood.example" in r.getMessage() for r in caplog.records) == 1
