"""The stored event rows (kind and payload JSON, byte for byte) of real replays match the pinned files.

The files in `pinned_events/` were written by the code before events were typed (`domain/events.py`): the
typed catalogue must store exactly what the untyped `Event(kind, payload)` stored, so databases written by
earlier versions stay readable by `check` and resume, and new ones read the same in older tools.
Set PAPERTRADER_REPIN=1 to rewrite them after an intended change of the stored format (and say why).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.config.settings import RiskSettings, Settings
from papertrader.domain.sessions import NEW_YORK
from papertrader.engine.runner import RunRequest, run

PINNED = Path(__file__).parent / "pinned_events"
SYMBOLS = ("AAPL", "MSFT", "IBM")
#: name -> (start, end, risk settings): loss limits firing in 2008 (kill switch, halt, daily limit, flatten) and
#: AAPL's 2005 split with dividends, protective stops and the drawdown guard
RUNS = {
    "replay_2008_limits": (
        datetime(2007, 6, 1, tzinfo=NEW_YORK),
        datetime(2009, 1, 1, tzinfo=NEW_YORK),
        RiskSettings(
            protective_stops=False,
            drawdown_budget=False,
            max_drawdown=0.06,
            daily_loss_limit=0.01,
            flatten_on_daily_limit=True,
        ),
    ),
    "replay_2005_split_stops_guard": (
        datetime(2004, 6, 1, tzinfo=NEW_YORK),
        datetime(2006, 1, 1, tzinfo=NEW_YORK),
        RiskSettings(drawdown_budget=True, max_drawdown=0.05),
    ),
}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("eventshome")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(path))
        result = CliRunner().invoke(app, ["data", "import", "--source", "bundled"])
        assert result.exit_code == 0, result.output
    return path


def _stored_rows(home: Path, run_id: str) -> str:
    """The run's event rows as the database holds them: seq, ts, kind and the raw payload JSON text."""
    with sqlite3.connect(home / "papertrader.db") as db:
        rows = db.execute(
            "SELECT seq, ts, kind, CAST(payload AS TEXT) FROM events WHERE run_id = ? ORDER BY seq", (run_id,)
        ).fetchall()
    return "".join(f"{seq}\t{ts}\t{kind}\t{payload}\n" for seq, ts, kind, payload in rows)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_stored_event_rows_are_byte_identical_to_the_pinned_file(
    name: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start, end, risk = RUNS[name]
    monkeypatch.setenv("PAPERTRADER_HOME", str(home))
    request = RunRequest(
        symbols=SYMBOLS,
        start=start,
        end=end,
        mode="replay",
        run_id=f"pinned-events-{name}",
    )
    run(Settings(risk=risk), request)
    text = _stored_rows(home, request.run_id or "")
    golden = PINNED / f"{name}.tsv"
    if os.environ.get("PAPERTRADER_REPIN") == "1":
        golden.write_text(text)
    assert text, "the run stored no events"
    assert text == golden.read_text(), f"{name} event rows differ from {golden}"
