"""The data commands end to end against the fake vendors: budget shown first, resumable after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import typer
from fake_vendors import FakeVendors, Fault
from typer.testing import CliRunner
from vendor_rig import PREMIUM, needs_shared

from papertrader.cli.data import backfill, poll, print_key_status
from papertrader.cli.universe import app as universe_app
from papertrader.core.clock import WallClock
from papertrader.data.store import Lake

pytestmark = needs_shared
runner = CliRunner()
ARGS = ["--start", "2020-06-01", "--end", "2021-01-01", "--source", "alphavantage"]


def cli() -> typer.Typer:
    """The commands wired into a Typer app the way cli/__init__.py mounts them (see the integration report)."""
    app = typer.Typer()
    data_app = typer.Typer()
    app.add_typer(data_app, name="data")
    data_app.command("backfill")(backfill)
    data_app.command("poll")(poll)

    @data_app.command("status")
    def data_status() -> None:
        print_key_status()

    app.add_typer(universe_app, name="universe")
    return app


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVendors]:
    with FakeVendors(WallClock()) as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("PAPERTRADER_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("PAPERTRADER_AV_KEY_PREMIUM", PREMIUM)
        monkeypatch.setenv("PAPERTRADER_QUESTRADE_REFRESH_TOKEN", server.questrade_refresh)
        monkeypatch.setenv("COLUMNS", "200")
        for timeout in ("ALPHAVANTAGE_READ_TIMEOUT_S", "YAHOO_TIMEOUT_S", "QUESTRADE_TIMEOUT_S"):
            monkeypatch.setenv(f"PAPERTRADER_{timeout}", "60")  # a loaded machine's slow answer is no timeout
        yield server


def invoke(*args: str, code: int = 0) -> str:
    result = runner.invoke(cli(), list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_backfill_prints_requests_and_time_before_fetching_and_a_dry_run_sends_nothing(fake: FakeVendors) -> None:
    out = invoke("data", "backfill", "--symbols", "SPY,AAPL", *ARGS, "--dry-run")
    assert "2 symbol(s)" in out and "missing: 300 session(s)" in out
    assert "alphavantage: 2 request(s)" in out and "PR…01 premium 75/75 left" in out
    assert PREMIUM not in out
    assert fake.log == []


def test_backfill_fills_the_lake_then_a_second_run_sends_no_request(fake: FakeVendors, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    out = invoke("data", "backfill", "--symbols", "SPY,AAPL", *ARGS, "--json", str(report))
    assert "done" in out
    data = json.loads(report.read_text())
    assert data["by_source"] == {"alphavantage": 2} and data["written"] == 300
    sent = len(fake.log)
    assert sent == 2

    again = invoke("data", "backfill", "--symbols", "SPY,AAPL", *ARGS)
    assert "missing: 0 session(s)" in again
    assert len(fake.log) == sent

    status = invoke("data", "status")
    assert "PR…01" in status and "2/75" in status and PREMIUM not in status


def test_universe_list_shows_the_shipped_top_200_with_its_date(fake: FakeVendors, tmp_path: Path) -> None:
    out_file = tmp_path / "universe.json"
    out = invoke("universe", "list", "--category", "core_large_cap", "--json", str(out_file))
    assert "as of 2024-12-31" in out
    data = json.loads(out_file.read_text())
    assert len(data["members"]) == 200 and data["members"][0]["symbol"] == "AAPL"


def test_universe_list_tags_stocks_under_the_penny_price_from_the_lake(fake: FakeVendors, tmp_path: Path) -> None:
    ts = pd.Series(pd.to_datetime(["2024-06-03 04:00"], utc=True))
    bar = pd.DataFrame(
        {"symbol": ["INTC"], "ts": ts, "open": 3.1, "high": 3.2, "low": 3.0, "close": 3.1, "volume": 1e6}
    )
    Lake(tmp_path / "home" / "lake").write_bars(bar, "1d", "test")
    out_file = tmp_path / "penny.json"
    invoke("universe", "list", "--category", "penny", "--json", str(out_file))
    assert [m["symbol"] for m in json.loads(out_file.read_text())["members"]] == ["INTC"]


def test_a_killed_backfill_resumes_its_job_and_skips_what_was_stored(fake: FakeVendors, tmp_path: Path) -> None:
    fake.faults.append(Fault("alphavantage", "timeout", symbol="IBM", times=None))
    fake.timeout_sleep_s = 60.0
    env = {**os.environ, "PAPERTRADER_ALPHAVANTAGE_READ_TIMEOUT_S": "120"}
    code = "import typer; from papertrader.cli.data import backfill; typer.run(backfill)"
    args = ["--symbols", "SPY,AAPL,IBM", *ARGS]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while not fake.requests("alphavantage", "IBM") and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert fake.requests("alphavantage", "IBM"), "the backfill never reached IBM"
        proc.send_signal(signal.SIGKILL)  # no chance to clean up: the kill a crash or OOM would be
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert {r.symbol for r in fake.log} == {"SPY", "AAPL", "IBM"}

    fake.faults.clear()
    before = len(fake.log)
    out = invoke("data", "backfill", *args)
    assert "(resumed)" in out and "missing: 150 session(s)" in out
    assert [r.symbol for r in fake.log[before:]] == ["IBM"]


def test_poll_prints_the_achievable_cadence_then_the_freshest_quotes(fake: FakeVendors) -> None:
    out = invoke("data", "poll", "--symbols", "SPY,IBM", "--sweeps", "1")
    assert "cadence: 2 symbols: 2 request(s) per sweep, one sweep every 2 s" in out
    assert "SPY" in out and "IBM" in out and "alphavantage" in out
    assert [r.symbol for r in fake.log] == ["SPY", "IBM"]


def test_universe_refresh_says_what_it_will_cost_before_asking(fake: FakeVendors) -> None:
    out = invoke("universe", "refresh", "--no-include-lake", "--dry-run")
    assert "refresh: 200 OVERVIEW request(s), ~1.7 min" in out
    assert fake.log == []
