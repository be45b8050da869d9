"""SIGKILL after a cycle's decision while its commit is still on the writer thread: resume ends in the same state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_kill_resume import WINDOW, _cli, _state
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository

HELD = 40  # the commit of the 40th cycle of the run never finishes before the kill

#: the CLI's replay with the repository's commit of its HELD-th cycle held on the writer thread (a slow disk)
CHILD = f"""
import sys, threading, pathlib
from papertrader.persistence.repository import RunRepository
real = RunRepository.record_cycles
seen = []
def held(self, run_id, records):
    seen.extend(records)
    if len(seen) >= {HELD}:
        pathlib.Path(sys.argv[1]).write_text(threading.current_thread().name + " " + str(records[-1].cycle))
        threading.Event().wait()  # never commits: the process is killed here
    return real(self, run_id, records)
RunRepository.record_cycles = held
from papertrader.cli import app
app(sys.argv[2:])
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("midcommit")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(path))
        assert CliRunner().invoke(app, ["data", "import", "--source", "bundled"]).exit_code == 0
    return path


@pytest.mark.slow
def test_a_kill_between_decision_and_commit_resumes_to_the_uninterrupted_state(home: Path) -> None:
    reference = _cli(home, "paper", "--replay", "--no-api", "--run-id", "reference", *WINDOW)
    assert reference.wait(timeout=180) == 0, reference.stderr.read() if reference.stderr else ""
    repo = RunRepository(make_engine(f"sqlite:///{home / 'papertrader.db'}"))

    flag = home / "stuck"
    env = {**os.environ, "PAPERTRADER_HOME": str(home)}
    args = ["paper", "--replay", "--no-api", "--run-id", "victim", *WINDOW]
    victim = subprocess.Popen([sys.executable, "-c", CHILD, str(flag), *args], env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not flag.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert flag.exists(), "the commit of the held cycle never started"
    thread, cycle = flag.read_text().split()
    assert thread.startswith("commit-"), "the commit runs on the writer thread, off the decision path"
    time.sleep(0.3)  # the loop has returned the decision and is waiting in the next step's settle()
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    row = repo.get_run("victim")
    assert row is not None and row.last_cycle == int(cycle) - 1, "the held cycle was not committed"

    resumed = _cli(home, "paper", "--replay", "--no-api", "--run-id", "victim", "--resume", *WINDOW)
    assert resumed.wait(timeout=180) == 0, resumed.stderr.read() if resumed.stderr else ""
    victim_state, ref = _state(repo, "victim"), _state(repo, "reference")
    assert victim_state["fills"] == ref["fills"], "no fill lost or duplicated"
    assert victim_state == ref
