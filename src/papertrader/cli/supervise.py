"""`papertrader paper --live --supervise`: the live run as a child process, restarted with `--resume` after a crash.

The work (restart decisions, backoff, crash loops) is engine/supervisor.py; this module builds the child's
command line from the options the operator gave, names the run (a restart must resume the same one) and
turns how supervision ended into an exit code: 0 after a clean stop, 1 when a crash loop made it give up (so
a service manager's `Restart=on-failure` sees a failure).
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
from pathlib import Path

import typer

from papertrader.cli.common import console, open_repository
from papertrader.cli.progress import stop_on_signal
from papertrader.config.settings import load_settings
from papertrader.core.clock import WallClock
from papertrader.core.ids import new_run_id

#: prctl(2) option: signal the child when its parent dies (Linux)
_PR_SET_PDEATHSIG = 1


def live_child_argv(
    symbols: tuple[str, ...],
    interval: str,
    run_id: str,
    *,
    resume: bool,
    serve_api: bool,
    days: int | None,
    json_file: Path | None,
    strategy: str | None,
) -> list[str]:
    """The `papertrader paper --live` command line the supervisor starts (with `--resume` on a restart)."""
    argv = [sys.executable, "-m", "papertrader", "paper", "--live", "--symbols", ",".join(symbols)]
    argv += ["--interval", interval, "--run-id", run_id, "--api" if serve_api else "--no-api"]
    if days is not None:
        argv += ["--days", str(days)]
    if json_file is not None:
        argv += ["--json", str(json_file)]
    if strategy is not None:
        argv += ["--strategy", strategy]
    if resume:
        argv.append("--resume")
    return argv


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if the supervisor dies, so no orphan keeps trading the run alone."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: nothing to ask for
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def supervise_live(
    symbols: tuple[str, ...],
    interval: str,
    run_id: str | None,
    resume: bool,
    serve_api: bool,
    days: int | None,
    json_file: Path | None,
    strategy: str | None,
) -> None:
    """Run `paper --live` as a child and restart it with `--resume` after each unclean exit (engine/supervisor.py)."""
    from papertrader.engine.supervisor import Supervisor

    if not symbols:
        raise typer.BadParameter("--live needs --symbols")
    clock = WallClock()
    name = run_id or new_run_id(clock.now())

    def launch(_restarts: int) -> subprocess.Popen[bytes]:
        # a run that exists is resumed: on a restart, and when a service manager starts the same run id again
        # (a child that died before creating the run starts it afresh)
        again = resume or open_repository(load_settings()).get_run(name) is not None
        argv = live_child_argv(
            symbols,
            interval,
            name,
            resume=again,
            serve_api=serve_api,
            days=days,
            json_file=json_file,
            strategy=strategy,
        )
        console.print(f"[bold]supervisor[/bold]: starting run {name}{' (resume)' if again else ''}")
        # its own session: a terminal's Ctrl-C reaches the supervisor, which forwards exactly one SIGTERM
        return subprocess.Popen(argv, start_new_session=True, preexec_fn=_die_with_parent)

    with stop_on_signal("supervisor: stopping the run after its current cycle (signal again to abort)") as stopping:
        outcome = Supervisor(
            launch, clock, should_stop=stopping, say=lambda m: console.print(f"[yellow]supervisor: {m}[/yellow]")
        ).run()
    console.print(f"[bold]supervisor[/bold]: run {name} {outcome.outcome} after {outcome.restarts} restart(s)")
    if outcome.outcome == "gave_up":
        raise typer.Exit(1)
