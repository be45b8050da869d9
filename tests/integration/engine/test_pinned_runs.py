"""A backtest, a replay and a resumed replay on real bundled bars give byte-identical JSON to the pinned files.

The files in `pinned/` were written by the code before the composition root was introduced; any refactor of how
a run is assembled must leave them unchanged. Only the run id and the wall-clock latency are taken out.
Set PAPERTRADER_REPIN=1 to rewrite them after an intended change of results (and say why in the commit).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from papertrader.cli import app

PINNED = Path(__file__).parent / "pinned"
WINDOW = ("--symbols", "AAPL,MSFT,IBM", "--start", "2006-01-01", "--end", "2009-01-01", "--interval", "1d")
VOLATILE = ("run_id", "cycle_latency")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pinhome")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(path))
        result = CliRunner().invoke(app, ["data", "import", "--source", "bundled"])
        assert result.exit_code == 0, result.output
    return path


def _invoke(home: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    monkeypatch.setenv("PAPERTRADER_HOME", str(home))
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output


def _text(path: Path) -> str:
    data: dict[str, Any] = json.loads(path.read_text())
    run_id = str(data["run_id"])
    for key in VOLATILE:
        data.pop(key, None)
    return json.dumps(data, indent=2, sort_keys=True).replace(run_id, "RUN") + "\n"


def _check(name: str, produced: Path) -> None:
    text = _text(produced)
    golden = PINNED / f"{name}.json"
    if os.environ.get("PAPERTRADER_REPIN") == "1":
        golden.write_text(text)
    assert text == golden.read_text(), f"{name} differs from {golden}"


def test_backtest_json_is_byte_identical_to_the_pinned_file(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "backtest.json"
    _invoke(home, monkeypatch, "backtest", *WINDOW, "--json", str(out))
    _check("backtest", out)


def test_replay_json_is_byte_identical_to_the_pinned_file(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "replay.json"
    _invoke(
        home, monkeypatch, "paper", "--replay", "--no-api", "--run-id", "pinned-replay", *WINDOW, "--json", str(out)
    )
    _check("replay", out)


def test_resumed_replay_json_is_byte_identical_to_the_pinned_file(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from papertrader.cli.common import optional_date
    from papertrader.config.settings import Settings
    from papertrader.engine.runner import RunRequest, run

    monkeypatch.setenv("PAPERTRADER_HOME", str(home))
    cycles = iter(range(10_000))
    symbols, start, end = tuple(WINDOW[1].split(",")), WINDOW[3], WINDOW[5]
    request = RunRequest(
        symbols=symbols,
        start=optional_date(start),
        end=optional_date(end),
        mode="replay",
        run_id="pinned-resumed",
    )
    run(Settings(), request, should_stop=lambda: next(cycles) >= 300)  # interrupted after 300 cycles
    out = tmp_path / "resumed.json"
    _invoke(
        home, monkeypatch, "paper", "--replay", "--no-api", "--run-id", "pinned-resumed", "--resume", "--json", str(out)
    )
    _check("resumed_replay", out)
    resumed, replay = (json.loads((PINNED / f"{n}.json").read_text()) for n in ("resumed_replay", "replay"))
    assert resumed["fills"] == replay["fills"]  # a resumed replay is the uninterrupted one
