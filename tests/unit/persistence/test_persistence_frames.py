"""`load_run` and `papertrader export`: a stored run as DataFrames and as CSV/Parquet files, through the repository.

The run is the deterministic persistence scenario (synthetic orders and fills) plus ensemble-shaped signal events,
stored by the real repository in a SQLite file under a scratch PAPERTRADER_HOME.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from persistence_scenario import INITIAL_CASH, build_cycles
from typer.testing import CliRunner

import papertrader
from papertrader.cli import app
from papertrader.domain.events import event_from_record
from papertrader.persistence import RunInfo, RunRepository, init_db, make_engine
from papertrader.persistence.repository import RunNotFoundError

VOTES = [
    {"member": "lstm", "timeframe": "daily", "p_up": 0.61, "p_down": 0.2, "exit": False, "weight": 0.8, "reason": "up"},
    {"member": "ppo", "timeframe": "daily", "p_up": None, "p_down": None, "exit": True, "weight": 0.0, "reason": "x"},
]
CYCLES = 6


@pytest.fixture
def home(tmp_path: Path, run_info: RunInfo, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PAPERTRADER_HOME whose papertrader.db holds one run: 6 cycles, 5 fills and one decision with 2 votes."""
    home = tmp_path / "home"
    monkeypatch.setenv("PAPERTRADER_HOME", str(home))
    monkeypatch.delenv("PAPERTRADER_DATABASE_URL", raising=False)
    engine = make_engine(f"sqlite:///{home / 'papertrader.db'}")
    init_db(engine)
    repo = RunRepository(engine)
    repo.create_run(run_info)
    records = build_cycles(run_info.id, CYCLES)
    signal = event_from_record(records[2].ts, "signal", {"symbol": "AAPL", "source": "ensemble", "target_weight": 0.2,
                                             "confidence": 0.7, "rationale": "board", "votes": VOTES})  # fmt: skip
    records[2] = replace(records[2], events=(*records[2].events, signal))
    repo.record_cycles(run_info.id, records)
    engine.dispose()
    return home


def test_load_run_returns_every_table_the_repository_stored(home: Path, run_info: RunInfo) -> None:
    frames = papertrader.load_run(run_info.id, home=home)
    assert isinstance(frames, papertrader.RunFrames)
    assert list(frames.equity["cycle"]) == list(range(CYCLES))
    assert frames.equity["equity"].iloc[0] == pytest.approx(float(INITIAL_CASH))
    assert len(frames.fills) == CYCLES - 1 and frames.fills["seq"].tolist() == list(range(1, CYCLES))
    assert set(frames.fills["side"]) <= {"buy", "sell"} and frames.fills["price"].dtype == "float64"
    assert str(frames.fills["ts"].dt.tz) == "UTC"
    assert len(frames.orders) == CYCLES and {"filled", "accepted"} >= set(frames.orders["status"])
    assert frames.orders.loc[frames.orders["type"] == "limit", "limit_price"].eq(250.05).all()
    assert set(frames.positions["symbol"]) == {"AAPL", "MSFT"}
    decision = frames.decisions.iloc[0]
    assert (decision["symbol"], decision["target_weight"], decision["votes"]) == ("AAPL", 0.2, 2)
    assert frames.votes["member"].tolist() == ["lstm", "ppo"] and frames.votes["seq"].eq(decision["seq"]).all()
    assert pd.isna(frames.votes["p_up"].iloc[1])


def test_exact_load_keeps_money_as_decimals(home: Path, run_info: RunInfo) -> None:
    frames = papertrader.load_run(run_info.id, home=home, exact=True)
    assert frames.equity["cash"].iloc[0] == INITIAL_CASH
    assert isinstance(frames.fills["price"].iloc[0], Decimal)


def test_an_unknown_run_or_a_missing_database_is_a_clear_error_and_creates_nothing(home: Path, tmp_path: Path) -> None:
    with pytest.raises(RunNotFoundError, match=r"no run 'nope'.*runs: 20240102T143000-abc123"):
        papertrader.load_run("nope", home=home)
    empty = tmp_path / "empty-home"
    with pytest.raises(RunNotFoundError, match="no papertrader database"):
        papertrader.load_run("nope", home=empty)
    assert not empty.exists()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_every_table_and_run_json_that_read_back_equal(
    home: Path, run_info: RunInfo, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["export", run_info.id, str(out), "--format", fmt])
    assert result.exit_code == 0, result.output
    frames = papertrader.load_run(run_info.id, home=home)
    for name, frame in frames.tables():
        path = out / f"{name}.{fmt}"
        back = pd.read_csv(path) if fmt == "csv" else pd.read_parquet(path)
        assert list(back.columns) == list(frame.columns) and len(back) == len(frame), name
    fills = pd.read_csv(out / "fills.csv") if fmt == "csv" else pd.read_parquet(out / "fills.parquet")
    pd.testing.assert_series_equal(fills["price"], frames.fills["price"])
    info = json.loads((out / "run.json").read_text())
    assert info["id"] == run_info.id and info["symbols"] == ["AAPL", "MSFT"]


def test_export_of_an_unknown_run_or_format_exits_2_with_a_message(home: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "nope", str(tmp_path / "o")])
    assert result.exit_code == 2 and "no run 'nope'" in result.output
    result = CliRunner().invoke(app, ["export", "nope", str(tmp_path / "o"), "--format", "xlsx"])
    assert result.exit_code == 2 and "csv or parquet" in result.output
    assert not (tmp_path / "o").exists()
