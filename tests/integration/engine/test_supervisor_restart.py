"""The supervisor on real processes: a SIGKILLed live run is restarted with --resume and ends as if never killed;
a clean exit is not restarted; a crash loop gives up; a stop request reaches the child once and is not restarted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from live_support import LIVE_FROM, at, live_settings, orchestrator, prepared_home, repository, stripped_state

from papertrader.core.clock import SimClock
from papertrader.domain.events import LiveRestarted
from papertrader.engine.check import check_run
from papertrader.engine.feed import RecordedFeed
from papertrader.engine.supervisor import RestartPolicy, Supervisor

CHILD = Path(__file__).resolve().parent / "supervised_live_child.py"


def _python(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


@pytest.mark.slow
def test_a_sigkilled_live_run_is_restarted_with_resume_and_ends_as_if_never_killed(tmp_path: Path) -> None:
    home, bars = prepared_home(tmp_path)
    settings = live_settings(home)
    orchestrator(settings, RecordedFeed(bars), SimClock(at(LIVE_FROM, 6)), run_id="ref").run()
    argvs: list[list[str]] = []

    def launch(restarts: int) -> subprocess.Popen[bytes]:
        argv = [sys.executable, str(CHILD), str(home), "victim", *(["--resume"] if restarts else [])]
        argvs.append(argv)
        return subprocess.Popen(argv)

    said: list[str] = []
    outcome = Supervisor(launch, SimClock(at(LIVE_FROM, 12)), say=said.append).run()

    assert (outcome.outcome, outcome.restarts, outcome.exits) == ("clean", 1, (-9, 0))
    assert "--resume" not in argvs[0] and argvs[1][-1] == "--resume"
    assert said == ["the run stopped uncleanly (killed by SIGKILL); restarting it with --resume in 2 s"]
    repo = repository(settings)
    restarts = [e for e in repo.load_events("victim", [LiveRestarted.KIND]) if isinstance(e, LiveRestarted)]
    assert [(e.clean, e.previous_status) for e in restarts] == [(False, "running")]
    assert stripped_state(repo, "victim") == stripped_state(repo, "ref")
    assert check_run(repo, "victim").ok
    stored = repo.get_run("victim")
    assert stored is not None and stored.status.value == "finished" and stored.summary is not None
    score = stored.summary["live_score"]
    assert score["up"] == score["scheduled"] == 7, "restarted inside the bar: no close fell while it was down"


def test_a_clean_exit_is_not_restarted() -> None:
    outcome = Supervisor(lambda _n: _python("import sys; sys.exit(0)"), SimClock(at(LIVE_FROM, 9))).run()
    assert (outcome.outcome, outcome.restarts, outcome.exits) == ("clean", 0, (0,))


def test_a_crash_loop_gives_up_after_the_allowed_restarts_with_a_clear_message() -> None:
    said: list[str] = []
    policy = RestartPolicy(first_backoff_s=2, max_restarts=3, window_s=600)
    clock = SimClock(at(LIVE_FROM, 9))
    outcome = Supervisor(lambda _n: _python("import sys; sys.exit(3)"), clock, policy, say=said.append).run()
    assert (outcome.outcome, outcome.restarts, outcome.exits) == ("gave_up", 3, (3, 3, 3, 3))
    assert [m.split("in ")[-1] for m in said[:3]] == ["2 s", "4 s", "8 s"], "backoff doubles"
    assert "4 times within 600 s" in outcome.message and "crash loop, giving up" in outcome.message
    assert said[-1] == outcome.message
    assert clock.now() == at(LIVE_FROM, 9, 0, 14), "the backoff waited on the injected clock"


def test_a_stop_request_is_forwarded_once_as_sigterm_and_the_child_is_not_restarted(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    code = (
        "import pathlib, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0 if pathlib.Path(sys.argv[1]).exists() else 5))\n"
        "pathlib.Path(sys.argv[1]).touch()\n"
        "time.sleep(120)\n"
        "sys.exit(4)\n"
    )
    outcome = Supervisor(
        lambda _n: subprocess.Popen([sys.executable, "-c", code, str(ready)]),
        SimClock(at(LIVE_FROM, 9)),
        should_stop=ready.exists,  # asked to stop once the child is up
    ).run()
    assert (outcome.outcome, outcome.restarts, outcome.exits) == ("clean", 0, (0,))
