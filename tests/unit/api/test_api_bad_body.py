"""A body that is not JSON is refused with 422, as the API's README says (400 is only for undecodable bytes)."""

from __future__ import annotations

from pathlib import Path

from api_support import auth, etf_bars, make_app, record_run
from fastapi.testclient import TestClient

from papertrader.api.app import PREFIX
from papertrader.api.export_openapi import schema
from papertrader.engine.control import RunControl
from papertrader.engine.live import LiveState


def test_a_body_that_is_not_json_is_a_422_as_documented(tmp_path: Path) -> None:
    run = record_run(tmp_path, etf_bars("2000-06-01"), 30, run_id="bad-body", finish=False)
    app = make_app(run, LiveState(run.engine, len(run.engine.panel)), RunControl(speed=86_400.0))
    with TestClient(app) as client:
        response = client.post(
            f"{PREFIX}/control/speed", headers={**auth(), "content-type": "application/json"}, content=b"{not json"
        )
    assert response.status_code == 422, response.text
    assert "422" in schema()["paths"][f"{PREFIX}/control/speed"]["post"]["responses"]
    readme = (Path(__file__).resolve().parents[3] / "src" / "papertrader" / "api" / "README.md").read_text()
    assert "not valid JSON (`json_invalid`, 422" in readme
