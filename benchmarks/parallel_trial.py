"""The trial command over many windows, one after another vs as Ray tasks (`--workers N`), on the bundled bars.

What it measures: wall seconds of `engine.trial.run_trial` (the code `papertrader trial` runs: every window a
persisted replay, checked, scored beside buy-and-hold and the trend baseline) over `--windows` windows of
`--days` sessions, sequentially and on a local Ray of each `--workers` count, in one process, on one fresh home.
Ray's start (`ray.init`) is timed apart from the trial. The first trial on a fresh Ray ("cold") also pays each
worker process's imports; the same trial again on the same Ray ("warm") shows the steady state a long trial
reaches. It checks that every run gives the same trial JSON (run ids aside), and records the load average: on
a shared machine other processes take CPUs the workers would use.

Run: `.venv/bin/python benchmarks/parallel_trial.py [--windows 64] [--days 5] [--workers 2]`.
Writes benchmarks/results/parallel_trial.json. Needs the [scale] extra (Ray); imports the bundled demo data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock
from papertrader.data.adapters.bundled import import_bundled
from papertrader.data.store import Lake
from papertrader.engine.parallel import Workers
from papertrader.engine.trial import TrialRequest, TrialResult, run_trial
from papertrader.models.scaleout import init_ray, shutdown

RESULTS = Path(__file__).parent / "results"


def _normalised(result: TrialResult) -> str:
    return json.dumps(result.to_json(), sort_keys=True).replace(result.plan.trial_id, "TRIAL")


def _timed(settings: Settings, request: TrialRequest, workers: Workers | None) -> tuple[float, float, TrialResult]:
    clock = SimClock(datetime(2026, 1, 1, tzinfo=UTC))
    wall, cpu = time.perf_counter(), time.process_time()
    result = run_trial(settings, request, clock, workers=workers)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    """Run the comparison and write its JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", type=int, default=64)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--symbols", default="AAPL,MSFT,IBM")
    parser.add_argument("--workers", default="2", help="comma-separated worker counts to time")
    args = parser.parse_args()
    request = TrialRequest(days=args.days, windows=args.windows, symbols=tuple(args.symbols.split(",")))
    console = Console()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="pt-bench-") as tmp:
        home = Path(tmp) / "home"
        import_bundled(Lake(home / "lake"))
        wall, cpu, base = _timed(Settings(home=home, database_url=f"sqlite:///{home}/seq.db"), request, None)
        runs.append(
            {
                "workers": 1,
                "mode": "sequential",
                "seconds": wall,
                "parent_cpu_seconds": cpu,
                "same": True,
                "load_average_1m": os.getloadavg()[0],
            }
        )
        console.print(f"sequential: {wall:.1f} s")
        for count in (int(c) for c in args.workers.split(",")):
            start = time.perf_counter()
            init_ray(num_cpus=count, temp_dir=str(Path(tmp) / "ray"))
            ray_start = time.perf_counter() - start
            try:
                for state in ("cold", "warm"):
                    db = f"sqlite:///{home}/ray{count}-{state}.db"
                    wall, cpu, result = _timed(Settings(home=home, database_url=db), request, Workers(count))
                    same = _normalised(result) == _normalised(base)
                    runs.append(
                        {
                            "workers": count,
                            "mode": f"ray, {state}",
                            "seconds": wall,
                            "ray_start_seconds": ray_start if state == "cold" else 0.0,
                            "parent_cpu_seconds": cpu,
                            "speedup": runs[0]["seconds"] / wall,
                            "speedup_with_ray_start": runs[0]["seconds"]
                            / (wall + (ray_start if state == "cold" else 0.0)),
                            "same": same,
                            "load_average_1m": os.getloadavg()[0],
                        }
                    )
                    console.print(f"ray x{count} {state}: {wall:.1f} s (Ray start {ray_start:.1f} s), same: {same}")
            finally:
                shutdown()
    table = Table(title=f"trial: {len(base.scores)} windows of {args.days} sessions, {args.symbols}")
    for col in ("run", "seconds", "Ray start s", "speed-up", "with start", "same", "load"):
        table.add_column(col, justify="left" if col == "run" else "right")
    for r in runs:
        table.add_row(
            "sequential" if r["mode"] == "sequential" else f"--workers {r['workers']} ({r['mode']})",
            f"{r['seconds']:.1f}",
            f"{r.get('ray_start_seconds', 0):.1f}",
            f"{r.get('speedup', 1.0):.2f}x",
            f"{r.get('speedup_with_ray_start', 1.0):.2f}x",
            "yes" if r["same"] else "NO",
            f"{r['load_average_1m']:.1f}",
        )
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "benchmark": "trial windows sequential vs Ray tasks (engine.trial.run_trial)",
        "windows": len(base.scores),
        "days": args.days,
        "symbols": args.symbols.split(","),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "note": "wall seconds on a shared machine; load_average_1m says how busy it was",
        "runs": runs,
    }
    (RESULTS / "parallel_trial.json").write_text(json.dumps(payload, indent=2))
    console.print(f"wrote {RESULTS / 'parallel_trial.json'}")


if __name__ == "__main__":
    main()
