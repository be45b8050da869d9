"""The board trades through the engine on bundled real data with tiny registered models; its votes are stored,
`papertrader decisions` shows them, and `papertrader compare` writes an out-of-sample comparison."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.config.board import BoardSettings
from papertrader.config.settings import Settings, StrategySettings
from papertrader.core.errors import ConfigError
from papertrader.data import Lake
from papertrader.data.adapters.bundled import import_bundled
from papertrader.engine.runner import RunRequest, run
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository

SYMBOLS = ("AAPL", "IBM", "MSFT")
VOL_MATCHED = "buy_and_hold_vol_matched"
START, END = "2011-06-01", "2012-06-01"


def _settings(home: Path, name: str = "ensemble") -> Settings:
    return Settings(home=home, strategy=StrategySettings(name=name), board=BoardSettings(calibration_bars=120))


@pytest.mark.slow
def test_an_ensemble_backtest_stores_votes_and_decisions_shows_them(
    board_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = _settings(board_home)
    request = RunRequest(
        symbols=SYMBOLS,
        start=datetime.fromisoformat(START).replace(tzinfo=UTC),
        end=datetime.fromisoformat(END).replace(tzinfo=UTC),
    )
    result = run(settings, request)
    assert result.extra["health"]["signals"] == "ok"
    repo = RunRepository(make_engine(settings.db_url))
    signals = repo.load_events(result.run_id, ["signal"])
    assert signals, "the board never changed a target"
    for event in signals:
        votes = event.payload["votes"]
        assert {v["member"] for v in votes} <= {"lstm", "gru", "ppo", "trend"}
        assert all(set(v) == {"member", "timeframe", "p_up", "p_down", "exit", "weight", "reason"} for v in votes)
    assert any(len(e.payload["votes"]) == 4 for e in signals)
    models = [v for e in signals for v in e.payload["votes"] if v["member"] != "trend"]
    assert models, "the tiny models are still polled and their votes recorded"
    for v in models:  # they learned nothing, so the quality gate leaves them out: weight 0, the reason in words
        assert v["weight"] == 0.0 and v["reason"].startswith(f"{v['member']}: left out, ")
    assert list((board_home / "board").glob("calibration-*.json")), "the calibration was not stored"

    monkeypatch.setenv("PAPERTRADER_HOME", str(board_home))
    out = tmp_path / "decisions.json"
    shown = CliRunner().invoke(app, ["decisions", result.run_id, "--symbol", "AAPL", "--json", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "lstm" in shown.output and "with board votes" in shown.output
    assert "lstm: left out, " in shown.output
    rows = json.loads(out.read_text())["decisions"]
    assert rows and all(r["symbol"] == "AAPL" and r["votes"] for r in rows)


@pytest.mark.slow
def test_compare_writes_json_and_refuses_a_window_inside_model_training(
    board_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PAPERTRADER_HOME", str(board_home))
    monkeypatch.setenv("PAPERTRADER_BOARD__CALIBRATION_BARS", "120")
    out = tmp_path / "compare.json"
    args = ["compare", "--start", START, "--end", END, "--symbols", ",".join(SYMBOLS), "--json", str(out)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    data = json.loads(out.read_text())
    names = [row["name"] for row in data["rows"]]
    board = ["ensemble", "ensemble_per_symbol", "lstm", "gru", "ppo", "trend"]  # per-symbol: issue 16
    assert names == [*board, "trend_baseline", "buy_and_hold", VOL_MATCHED]
    assert all(len(curve) == len(data["ts"]) for curve in data["equity"].values())
    assert data["calibration"]["end"] < data["start"]
    for model in data["models"].values():
        assert model["training_window"]["end"] < data["start"]
        assert model["training_window"]["data_end"] < data["start"]  # test rows are not held out
    # the tiny models are left out by the quality gate, so the calibration window is bounded by the voting
    # members only (the trend member has no training data); `test_board_calibration_bound` covers voting models

    refused = CliRunner().invoke(app, ["compare", "--start", "2008-01-02", "--symbols", "AAPL"])
    text = " ".join(refused.output.split())  # the console wraps long messages
    assert refused.exit_code == 2 and "overlaps model training" in text
    assert "data_end" in text and "earliest allowed start" in text


def test_a_model_strategy_without_a_registered_model_says_to_train_first(tmp_path: Path) -> None:
    import_bundled(Lake(tmp_path / "lake"))
    request = RunRequest(symbols=("AAPL",), start=datetime(2012, 1, 3, tzinfo=UTC))
    with pytest.raises(ConfigError, match="papertrader train all"):
        run(_settings(tmp_path, "lstm"), request, persist=False)
