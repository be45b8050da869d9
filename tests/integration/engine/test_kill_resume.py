"""SIGKILL a replay at 20 random points and resume it each time: the end state equals an uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository

WINDOW = ("--symbols", "IBM,MSFT", "--start", "2006-01-01", "--end", "2008-07-01", "--interval", "1d")
PACED = ("--speed", "17280000")  # 5 ms of wall time per trading day, so kills land between and inside cycles
KILLS = 20


def _cli(home: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PAPERTRADER_HOME": str(home)}
    cmd = [sys.executable, "-m", "papertrader.cli", *args]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _state(repo: RunRepository, run_id: str) -> dict[str, object]:
    """Everything that must match, with the run id taken out of the order ids."""
    strip = len(run_id)
    orders = [
        (o.id[strip:], o.symbol, o.side, o.qty, o.status, o.filled_qty, o.avg_fill_price, o.reason.replace(run_id, ""))
        for o in repo.load_orders(run_id)
    ]
    fills = [
        (f.order_id[strip:], f.seq, f.symbol, f.side, f.qty, f.price, f.fee, f.ts) for f in repo.load_fills(run_id)
    ]
    equity = repo.load_equity(run_id, exact=True)
    return {
        "orders": orders,
        "fills": fills,
        "positions": [(p.symbol, p.lots, p.realized_pnl) for p in repo.load_positions(run_id) if p.qty],
        "cash": list(equity["cash"]),
        "equity": list(equity["equity"]),
        "cycles": list(equity["cycle"]),
    }


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("killhome")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(path))
        assert CliRunner().invoke(app, ["data", "import", "--source", "bundled"]).exit_code == 0
    return path


def test_sigkill_at_random_points_then_resume_equals_an_uninterrupted_run(home: Path) -> None:
    reference = _cli(home, "paper", "--replay", "--no-api", "--run-id", "reference", *WINDOW)
    assert reference.wait(timeout=120) == 0, reference.stderr.read() if reference.stderr else ""
    repo = RunRepository(make_engine(f"sqlite:///{home / 'papertrader.db'}"))

    rng = random.Random(20)
    killed_mid_run = 0
    for _ in range(KILLS):
        before = repo.get_run("victim")
        last = before.last_cycle if before else -1
        args = ["paper", "--replay", "--no-api", "--run-id", "victim", *WINDOW, *PACED] + (
            ["--resume"] if before else []
        )
        proc = _cli(home, *args)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:  # wait until it commits new cycles
            run = repo.get_run("victim")
            if run is not None and run.last_cycle > last:
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        proc.wait(timeout=60)
    final = _cli(home, "paper", "--replay", "--no-api", "--run-id", "victim", "--resume", *WINDOW)
    assert final.wait(timeout=120) == 0, final.stderr.read() if final.stderr else ""

    assert killed_mid_run == KILLS, "every kill must land while the replay runs"
    victim, ref = _state(repo, "victim"), _state(repo, "reference")
    assert victim["fills"] == ref["fills"], "no fill lost or duplicated"
    assert victim == ref
    check = subprocess.run(
        [sys.executable, "-m", "papertrader.cli", "check", "victim"],
        env={**os.environ, "PAPERTRADER_HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
