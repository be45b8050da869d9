"""The child process of the supervisor test: a real one-day live run (hourly bars, recorded feed, simulated clock).

`python supervised_live_child.py HOME RUN_ID [--resume]`. The first process SIGKILLs itself right after its 12:00
cycle committed (once: a marker file remembers it); a `--resume` starts its clock where the killed one died (just
after that cycle) and finishes the day.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]  # live_support and support, as pytest imports them

from live_support import LIVE_FROM, SYMBOLS, at, live_settings, load_shared_hourly, orchestrator, repository  # noqa: E402

from papertrader.core.clock import SimClock  # noqa: E402
from papertrader.engine.cycle import CycleOutcome  # noqa: E402
from papertrader.engine.feed import RecordedFeed  # noqa: E402


def main(home: Path, run_id: str, resume: bool) -> None:
    """Trade the day; the first process dies by SIGKILL after its 12:00 cycle."""
    settings = live_settings(home)
    bars = load_shared_hourly(SYMBOLS, LIVE_FROM.isoformat(), "2019-06-01")
    marker = home / f"{run_id}.killed"
    if resume:
        row = repository(settings).get_run(run_id)
        assert row is not None and row.last_cycle_ts is not None
        start = row.last_cycle_ts + timedelta(seconds=settings.live.fetch_delay_seconds + 1)
    else:
        start = at(LIVE_FROM, 6)
    clock = SimClock(start)

    def kill_at_noon(outcome: CycleOutcome) -> None:
        if resume or marker.exists() or outcome.ts < at(LIVE_FROM, 12):
            return
        assert orch.recorder is not None
        orch.recorder.flush()  # the cycle is committed, then the process dies without closing anything
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)

    orch = orchestrator(settings, RecordedFeed(bars), clock, run_id=run_id, resume=resume, on_cycle=kill_at_noon)
    orch.run()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], "--resume" in sys.argv[3:])
