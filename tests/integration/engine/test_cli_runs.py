"""The command line end to end on the bundled real data: import, backtest --json, paper --replay, demo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository

runner = CliRunner()
KEYS = {
    "run_id",
    "start",
    "end",
    "symbols",
    "initial_cash",
    "final_equity",
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "trades",
    "turnover",
    "fees_paid",
    "benchmark",
    "fills",
}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PAPERTRADER_HOME with the bundled data imported once."""
    path = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(path))
        result = runner.invoke(app, ["data", "import", "--source", "bundled"])
    assert result.exit_code == 0, result.output
    return path


def _invoke(home: Path, *args: str) -> str:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        mp.setenv("COLUMNS", "160")
        result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_backtest_json_has_the_contract_keys_with_plausible_values(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    _invoke(home, "backtest", "--symbols", "AAPL,MSFT,IBM", "--start", "2002-01-01", "--json", str(out))
    data = json.loads(out.read_text())
    assert set(data) >= KEYS
    assert data["symbols"] == ["AAPL", "IBM", "MSFT"] or set(data["symbols"]) == {"AAPL", "IBM", "MSFT"}
    assert data["initial_cash"] == 100_000
    assert data["start"].startswith("2002-01-02")
    assert 10_000 < data["final_equity"] < 10_000_000
    assert -1 < data["max_drawdown"] < 0 and data["fees_paid"] > 0 and data["trades"] == len(data["fills"]) > 10
    assert {"total_return", "sharpe", "max_drawdown"} <= set(data["benchmark"])
    first = data["fills"][0]
    assert set(first) >= {"ts", "symbol", "side", "qty", "price", "fee"} and first["ts"] >= "2002-01-02"


def test_replay_is_the_backtest_loop_and_commits_every_cycle(home: Path, tmp_path: Path) -> None:
    bt, rp = tmp_path / "bt.json", tmp_path / "rp.json"
    window = ("--symbols", "IBM,MSFT", "--start", "2005-01-01", "--end", "2008-01-01")
    _invoke(home, "backtest", *window, "--json", str(bt))
    out = _invoke(home, "paper", "--replay", "--speed", "0", "--run-id", "replay-1", *window, "--json", str(rp))
    served = re.search(r"dashboard: http://127\.0\.0\.1:(\d+)/", out)
    assert served and served[1] != "8000", "tests serve on an ephemeral port, so they pass beside a running papertrader"
    a, b = json.loads(bt.read_text()), json.loads(rp.read_text())
    assert b["run_id"] == "replay-1"
    assert a["fills"] == [{**f, "order_id": f["order_id"].replace("replay-1", a["run_id"])} for f in b["fills"]]
    assert a["final_equity"] == b["final_equity"]

    db = make_engine(f"sqlite:///{home / 'papertrader.db'}")
    repo = RunRepository(db)
    run = repo.get_run("replay-1")
    assert run is not None and run.status == "finished"
    assert len(repo.load_fills("replay-1")) == len(b["fills"])
    equity = repo.load_equity("replay-1")
    assert len(equity) == b["cycles"]
    assert float(equity["equity"].iloc[-1]) == pytest.approx(b["final_equity"], abs=1e-6)
    with db.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_data_status_lists_bundled_symbols_and_quarantine(home: Path) -> None:
    out = _invoke(home, "data", "status")
    for symbol in ("AAPL", "MSFT", "^GSPC"):
        assert symbol in out
    assert "quarantined" in out


def test_unknown_symbol_is_a_clear_error_not_a_traceback(home: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        result = runner.invoke(app, ["backtest", "--symbols", "NOPE"])
    assert result.exit_code == 2
    assert "NOPE" in result.output and "import" in result.output


def test_report_writes_a_self_contained_tearsheet_with_plots(home: Path, tmp_path: Path) -> None:
    window = ("--symbols", "AAPL,IBM", "--start", "2006-01-01", "--end", "2008-01-01")
    _invoke(home, "paper", "--replay", "--no-api", "--run-id", "for-report", *window)
    out = tmp_path / "r.html"
    _invoke(home, "report", "for-report", "--html", str(out))
    page = out.read_text()
    assert page.count("data:image/png;base64,") >= 6  # equity, drawdown, monthly, sharpe, exposure, signals
    for heading in ("Equity vs buy-and-hold", "Drawdown", "Monthly returns", "Risk events", "Trades"):
        assert heading in page
    assert "http://" not in page and "https://" not in page, "self-contained: nothing loaded from the network"


def test_a_backtest_on_three_bars_warns_instead_of_printing_a_bare_sharpe(home: Path, tmp_path: Path) -> None:
    csv = tmp_path / "junk.csv"
    csv.write_text(
        "date,open,high,low,close,volume\n"
        "2024-01-08,10,11,9,10.5,1000\n2024-01-09,10.5,11,10,10.8,1200\n2024-01-10,10.8,11.2,10.1,11,900\n"
    )
    _invoke(home, "data", "import", "--source", "csv", "--path", str(csv), "--symbol", "JUNK")
    out_file = tmp_path / "junk.json"
    out = _invoke(home, "backtest", "--symbols", "JUNK", "--json", str(out_file))
    assert "too little history to warm up" in out and "too short to annualise" in out
    caveats = json.loads(out_file.read_text())["caveats"]
    assert len(caveats) == 2 and "JUNK 3" in caveats[0]


def test_a_normal_backtest_has_no_caveats(home: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "ok.json"
    out = _invoke(home, "backtest", "--symbols", "IBM", "--start", "2008-01-01", "--json", str(out_file))
    assert "warning:" not in out
    assert json.loads(out_file.read_text())["caveats"] == []


def test_a_start_after_the_end_says_so(home: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        mp.setenv("COLUMNS", "200")
        result = runner.invoke(app, ["backtest", "--start", "2010-01-01", "--end", "2005-01-01"])
    assert result.exit_code == 2, result.output
    assert "--start 2010-01-01 is after --end 2005-01-01" in result.output
    assert "no bars after" not in result.output


def test_data_status_json_has_stable_keys(home: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "status.json"
    _invoke(home, "data", "status", "--json", str(out_file))
    data = json.loads(out_file.read_text())
    assert set(data) == {"lake", "bars", "series", "keys"}
    aapl = next(b for b in data["bars"] if b["symbol"] == "AAPL" and b["interval"] == "1d")
    assert set(aapl) == {"interval", "symbol", "first", "last", "rows", "quarantined", "sources"}
    assert aapl["first"].startswith("2000-03-01") and aapl["last"].startswith("2013-03-01") and aapl["rows"] > 3000
    assert "VIX" in data["series"] and data["lake"] == str(home / "lake")
