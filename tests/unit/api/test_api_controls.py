"""Controls act on a real RunControl, are audited with who asked, and answer 409 when nothing can be steered."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from api_support import TOKEN, auth, etf_bars, make_app, record_run, shared_run
from fastapi.testclient import TestClient

from papertrader.api.app import PREFIX
from papertrader.api.audit import AUDIT_FILE
from papertrader.api.schemas import AuditView, ControlMessage, ControlView
from papertrader.engine.control import RunControl
from papertrader.engine.live import LiveState


@dataclass
class Live:
    client: TestClient
    control: RunControl
    home: Path


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    run = record_run(tmp_path, etf_bars("2000-06-01"), 30, run_id="live-1", finish=False)
    control = RunControl(speed=86_400.0)
    state = LiveState(run.engine, len(run.engine.panel))
    with TestClient(make_app(run, state, control)) as client:
        yield Live(client, control, tmp_path)


def _post(live: Live, action: str, body: dict[str, object] | None = None) -> ControlView:
    response = live.client.post(f"{PREFIX}/control/{action}", headers=auth(), json=body)
    assert response.status_code == 200, response.text
    return ControlView.model_validate(response.json())


def test_pause_and_resume_toggle_the_run_control(live: Live) -> None:
    assert _post(live, "pause").paused and live.control.state().paused
    assert not live.control.wait_while_paused(timeout=0.01), "the loop would now wait"
    assert not _post(live, "resume").paused and not live.control.state().paused


def test_flatten_and_reset_are_requests_the_loop_takes_once(live: Live) -> None:
    assert _post(live, "flatten").flatten_requested
    assert live.control.take_flatten() and not live.control.take_flatten()
    _post(live, "reset")
    assert live.control.take_reset() and not live.control.take_reset()


def test_speed_changes_the_replay_speed_and_rejects_nonsense(live: Live) -> None:
    assert _post(live, "speed", {"speed": 172_800}).speed == 172_800
    assert live.control.speed == 172_800
    for bad in ({"speed": -1}, {"speed": "fast"}, {}, {"speed": 1e12}):
        assert live.client.post(f"{PREFIX}/control/speed", headers=auth(), json=bad).status_code == 422
    assert live.control.speed == 172_800


def test_stop_ends_the_run_and_further_controls_are_409(live: Live) -> None:
    view = _post(live, "stop")
    assert view.stopping and not view.available and live.control.should_stop()
    response = live.client.post(f"{PREFIX}/control/pause", headers=auth())
    assert response.status_code == 409 and "stopping" in response.json()["detail"]
    assert not live.control.state().paused


def test_mode_switches_between_paper_and_observe_only_and_the_loop_takes_it_once(live: Live) -> None:
    before = live.client.get(f"{PREFIX}/control", headers=auth()).json()
    assert before["mode"] == "replay" and before["trading"] == "paper"
    assert _post(live, "mode", {"mode": "observe"}).trading == "observe", "shown at once, applied next cycle"
    assert live.control.take_mode() is True and live.control.take_mode() is None
    assert _post(live, "mode", {"mode": "paper"}).trading == "paper"
    assert live.control.take_mode() is False
    for bad in ({"mode": "live"}, {"mode": "backtest"}, {}):
        assert live.client.post(f"{PREFIX}/control/mode", headers=auth(), json=bad).status_code == 422
    schema = live.client.get(f"{PREFIX}/openapi.json", headers=auth()).json()
    assert "409" in schema["paths"][f"{PREFIX}/control/mode"]["post"]["responses"]


def test_every_action_is_audited_with_the_client_address_in_memory_and_on_disk(live: Live) -> None:
    _post(live, "pause")
    _post(live, "mode", {"mode": "observe"})
    entries = AuditView.model_validate(live.client.get(f"{PREFIX}/audit", headers=auth()).json()).entries
    assert [(e.action, e.outcome) for e in entries] == [("mode", "accepted"), ("pause", "accepted")]
    assert "observe only" in entries[0].detail
    assert all(e.client.startswith("testclient") for e in entries)
    path = live.home / AUDIT_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["action"] for line in lines] == ["pause", "mode"]


def test_audit_lines_also_go_to_the_log(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="papertrader.api.audit"):
        _post(live, "pause")
    assert any("control pause by testclient" in r.getMessage() for r in caplog.records)


def test_stream_clients_hear_about_each_accepted_action(live: Live) -> None:
    with live.client.websocket_connect(f"{PREFIX}/stream?token={TOKEN}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        _post(live, "pause")
        message = ControlMessage.model_validate(ws.receive_json())
        assert message.data.entry.action == "pause" and message.data.state.paused


def test_without_a_live_run_every_control_is_409_and_refusals_are_audited() -> None:
    with TestClient(make_app(shared_run())) as client:
        state = ControlView.model_validate(client.get(f"{PREFIX}/control", headers=auth()).json())
        assert not state.available and state.reason and "no live run" in state.reason
        for action in ("pause", "resume", "stop", "flatten", "reset"):
            response = client.post(f"{PREFIX}/control/{action}", headers=auth())
            assert response.status_code == 409, action
        assert client.post(f"{PREFIX}/control/speed", headers=auth(), json={"speed": 1}).status_code == 409
        entries = client.get(f"{PREFIX}/audit", headers=auth()).json()["entries"]
        assert len(entries) == 6 and {e["outcome"] for e in entries} == {"refused"}


def test_a_finished_live_run_cannot_be_steered(tmp_path: Path) -> None:
    run = record_run(tmp_path, etf_bars("2000-06-01"), 10, run_id="done", finish=True)
    control = RunControl()
    with TestClient(make_app(run, LiveState(run.engine, 10), control)) as client:
        response = client.post(f"{PREFIX}/control/pause", headers=auth())
        assert response.status_code == 409 and "finished" in response.json()["detail"]
        assert not control.state().paused
