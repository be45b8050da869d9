"""GET /health carries a live run's uptime and critical failures, stored with the run; a bad stored value is None."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from api_support import LOCAL, open_repo
from fastapi.testclient import TestClient

from papertrader.api import create_app
from papertrader.api.app import PREFIX
from papertrader.config.settings import Settings
from papertrader.persistence.repository import RunInfo

SCORE = {
    "as_of": "2019-05-23T20:30:00+00:00",
    "scheduled": 7,
    "up": 5,
    "uptime": 5 / 7,
    "missed_closes": 0,
    "critical_failures": ["run stopped without closing (crash or kill) 1 time(s)"],
}


def _health(tmp_path: Path, summary: dict[str, Any]) -> dict[str, Any]:
    settings = Settings(home=tmp_path)
    repo = open_repo(settings)
    at = datetime(2019, 5, 23, tzinfo=UTC)
    repo.create_run(RunInfo("live-1", "live", "1h", ("AAPL",), at, None, Decimal(100_000), {}, at))
    repo.finish_run("live-1", "finished", summary)
    with TestClient(create_app(settings, repo, token="t" * 43), base_url=LOCAL) as c:
        response = c.get(f"{PREFIX}/health")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_a_stored_live_runs_score_is_in_health(tmp_path: Path) -> None:
    body = _health(tmp_path, {"live_score": SCORE})
    assert body["live_score"] == {**SCORE, "as_of": "2019-05-23T20:30:00Z"}


@pytest.mark.parametrize("bad", [None, "99%", {"uptime": "high"}, {**SCORE, "scheduled": "many"}])
def test_a_missing_or_malformed_stored_score_is_null_not_an_error(tmp_path: Path, bad: object) -> None:
    assert _health(tmp_path, {"live_score": bad})["live_score"] is None
