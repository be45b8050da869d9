"""Hostile requests get a 4xx, never a 500 or a dead run: speeds, non-finite JSON, huge integers, binary frames."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from api_support import TOKEN, auth, etf_bars, make_app, record_run
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from papertrader.api import ApiSettings
from papertrader.api.app import PREFIX
from papertrader.api.validation import MAX_INT64, json_safe
from papertrader.cli.serve import warn_if_exposed
from papertrader.engine.control import RunControl
from papertrader.engine.live import LiveState


@dataclass
class Live:
    client: TestClient
    control: RunControl


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    run = record_run(tmp_path_factory.mktemp("hostile"), etf_bars("2000-03-01"), 20, run_id="live-h", finish=False)
    control = RunControl(speed=86_400.0)
    with TestClient(make_app(run, LiveState(run.engine, len(run.engine.panel)), control)) as client:
        yield Live(client, control)


def _speed(live: Live, raw: str) -> Any:
    return live.client.post(
        f"{PREFIX}/control/speed", headers={**auth(), "Content-Type": "application/json"}, content=raw
    )


@pytest.mark.parametrize("speed", ["1e-6", "0.5", "-0.0001", "1e10"])
def test_a_speed_the_loop_cannot_honour_is_refused_with_422_and_changes_nothing(live: Live, speed: str) -> None:
    response = _speed(live, f'{{"speed": {speed}}}')
    assert response.status_code == 422, response.text
    assert "speed" in response.text
    assert live.control.speed == 86_400.0


@pytest.mark.parametrize("speed", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_speeds_get_a_readable_422_not_a_500(live: Live, speed: str) -> None:
    response = _speed(live, f'{{"speed": {speed}}}')
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail and all(isinstance(item["msg"], str) for item in detail)
    assert live.control.speed == 86_400.0


def test_zero_and_real_time_are_the_ends_of_the_speed_range(live: Live) -> None:
    for speed in (0, 1, 172_800):
        assert _speed(live, f'{{"speed": {speed}}}').status_code == 200
        assert live.control.speed == speed
    _speed(live, '{"speed": 86400}')


def test_a_query_integer_beyond_64_bits_is_a_422_not_a_database_overflow(live: Live) -> None:
    base = f"{PREFIX}/runs/live-h/decisions"
    assert live.client.get(f"{base}?before={MAX_INT64 + 1}", headers=auth()).status_code == 422
    assert live.client.get(f"{base}?before={10**30}", headers=auth()).status_code == 422
    assert live.client.get(f"{base}?before={MAX_INT64}", headers=auth()).status_code == 200


def test_every_integer_query_parameter_has_an_upper_bound_sqlite_can_store(live: Live) -> None:
    schema = live.client.get(f"{PREFIX}/openapi.json", headers=auth()).json()
    checked = 0
    for path, methods in schema["paths"].items():
        for op in methods.values():
            for param in op.get("parameters", []):
                options = param["schema"].get("anyOf", [param["schema"]])
                for option in options:
                    if option.get("type") == "integer":
                        checked += 1
                        assert option.get("maximum", float("inf")) <= MAX_INT64, (path, param["name"])
    assert checked >= 5


def test_a_binary_stream_frame_closes_the_socket_with_1003_and_one_log_line(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), live.client.websocket_connect(f"{PREFIX}/stream?token={TOKEN}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        ws.send_bytes(b"\x00\x01binary")
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_text()
    assert closed.value.code == 1003
    lines = [r for r in caplog.records if "binary" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert not [r for r in caplog.records if r.exc_info]


def test_json_safe_turns_anything_into_strict_json() -> None:
    out = json_safe({"a": float("nan"), "b": [float("inf"), b"\xff", ValueError("x")], 3: "y" * 500})
    assert out["a"] == "nan" and out["b"][0] == "inf" and out["b"][2] == "x"
    assert len(out["3"]) <= 201


def test_a_control_that_refuses_is_a_422_and_an_audited_refusal(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_self: RunControl, _speed: float) -> None:
        raise ValueError("speed must be 0 (as fast as possible) or between 1 and 1e+09")

    monkeypatch.setattr(RunControl, "set_speed", refuse)
    assert _speed(live, '{"speed": 5}').status_code == 422
    entries = live.client.get(f"{PREFIX}/audit", headers=auth()).json()["entries"]
    assert entries[0]["action"] == "speed" and entries[0]["outcome"] == "refused"
    assert live.control.speed == 86_400.0


def test_serving_beyond_loopback_prints_the_warning_before_the_banner() -> None:
    printed: list[str] = []
    warn_if_exposed(ApiSettings(host="0.0.0.0"), printed.append)
    warn_if_exposed(ApiSettings(), printed.append)
    assert len(printed) == 1 and printed[0].startswith("WARNING") and "no TLS" in printed[0]
