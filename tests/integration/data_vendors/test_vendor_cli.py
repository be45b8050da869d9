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

import pytest
import typer
from fake_vendors import FakeVendors, Fault
from typer.testing import CliRunner
from vendor_rig import PREMIUM, needs_shared

from papertrader.cli_data import backfill, poll, print_key_status, universe_app
from papertrader.core.clock import WallClock

pytestmark = needs_shared
runner = CliRunner()
ARGS = ["--start", "2020-06-01", "--end", "2021-01-01", "--source", "alphavantage"]


def cli() -> typer.Typer:
    """The commands wired into a Typer app with the same lines cli.py gets (see the integration report)."""
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


def test_a_killed_backfill_resumes_its_job_and_skips_what_was_stored(fake: FakeVendors, tmp_path: Path) -> None:
    fake.faults.append(Fault("alphavantage", "timeout", symbol="IBM", times=None))
    fake.timeout_sleep_s = 60.0
    env = {**os.environ, "PAPERTRADER_ALPHAVANTAGE_READ_TIMEOUT_S": "120"}
    code = "import typer; from papertrader.cli_data import backfill; typer.run(backfill)"
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
