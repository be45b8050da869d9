"""`papertrader trial` end to end, this tree beside an earlier commit: wall and CPU seconds, the same trial JSON.

What it times: the command a user runs, `papertrader trial --days 7 --windows N --json F` (the trend baseline, the
default strategy, on the bundled AAPL/IBM/MSFT; `--windows all` lays out 431 seven-session windows, the issue's
trial has 363), as a child process from start to exit: imports, planning, every window (a persisted replay,
checked and scored), the summary and the HTML report. Each tree runs on its own fresh home (the bundled data
imported by that tree's own code) and a fresh database per run. The baseline (`--baseline REF`, default 49ba772,
main when issue #17 was filed) is extracted with `git archive` and runs sequentially (it has no `--workers`); this
tree runs sequentially and with each `--workers` count (a local Ray of that many CPUs, its start included).

CPU seconds are the child's and all of its descendants' (Ray's processes and workers too): this process makes
itself a child subreaper, so the processes Ray leaves behind stay in its tree, and reads every descendant's own
CPU time from /proc every 50 ms (rusage alone misses processes nobody waited for, as Ray's workers); the larger of
the two lower bounds is reported. The runs are interleaved (baseline, this tree, baseline, ...) because the box is
shared; each reports the 1-minute load average before and after. Every trial JSON must equal the first run's
(trial ids aside) or the script fails.

Run: `nice -n 10 .venv/bin/python benchmarks/trial_speed.py [--windows 363] [--repeat 2] [--workers 2]
[--baseline 49ba772]`; writes benchmarks/results/trial_speed.json. Needs the [scale] extra for `--workers`.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]
PR_SET_CHILD_SUBREAPER = 36
REAP_WAIT_S = 20.0  # how long to wait for processes a run left behind (Ray's) to exit and be counted
SAMPLE_S = 0.05  # how often every descendant's CPU time is read from /proc
TICKS = os.sysconf("SC_CLK_TCK")
CLI = "import sys; from papertrader.cli import app; sys.argv[0] = 'papertrader'; sys.exit(app())"


def _subreaper() -> bool:
    """Adopt orphaned descendants (Ray's workers outlive their parent for a moment), so their CPU is counted."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _processes() -> dict[int, tuple[int, tuple[int, int], float]]:
    """Every process now: pid -> (parent pid, (pid, start time) as its identity, its own CPU seconds so far)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        out[pid] = (int(fields[1]), (pid, int(fields[19])), (int(fields[11]) + int(fields[12])) / TICKS)
    return out


def _descendants(table: dict[int, tuple[int, tuple[int, int], float]]) -> set[int]:
    mine, grew = {os.getpid()}, True
    while grew:
        grew = False
        for pid, (parent, _, _) in table.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                grew = True
    return mine - {os.getpid()}


def _watch(proc: subprocess.Popen[str], deadline_after_exit: float) -> tuple[float, int]:
    """Sample every descendant's own CPU time until the child and everything it left behind are gone.

    Returns the sum over processes of the last CPU time seen (each loses at most one sampling period) and how many
    were still running at the deadline. Orphans (Ray's workers) are re-parented here (child subreaper) and reaped.
    """
    seen: dict[tuple[int, int], float] = {}
    deadline: float | None = None
    while True:
        table = _processes()
        alive = _descendants(table)
        for pid in alive:
            _, key, cpu = table[pid]
            seen[key] = max(seen.get(key, 0.0), cpu)
        while True:  # reap adopted orphans (the child itself is reaped by Popen)
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if proc.poll() is not None:
            deadline = deadline or time.monotonic() + deadline_after_exit
            if not alive or time.monotonic() > deadline:
                return sum(seen.values()), len(alive)
        time.sleep(SAMPLE_S)


def _env(src: Path, home: Path, db: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERTRADER_")}
    env.update({"PYTHONPATH": str(src), "PAPERTRADER_HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0"})
    if db is not None:
        env["PAPERTRADER_DATABASE_URL"] = f"sqlite:///{db}"
    return env


def _cli(src: Path, home: Path, db: Path | None, args: list[str]) -> dict[str, Any]:
    """Run `papertrader ARGS` on a tree; wall seconds, CPU seconds of it and its descendants, load averages."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", CLI, *args],
            env=_env(src, home, db),
            cwd=src.parent,
            stdout=out,
            stderr=out,
            text=True,
        )
        sampled, left = _watch(proc, REAP_WAIT_S)
        wall = time.perf_counter() - start
        out.seek(0)
        log = out.read()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"papertrader {' '.join(args)} failed ({proc.returncode}):\n{log[-3000:]}")
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_s": wall,
        "cpu_s": max(waited, sampled),  # both undercount a little: rusage misses what nobody waited for
        "cpu_s_waited": waited,
        "cpu_s_sampled": sampled,
        "load_1m_before": load,
        "load_1m_after": os.getloadavg()[0],
        "processes_left_running": left,
    }


def _normalised(path: Path) -> str:
    data = json.loads(path.read_text())
    data.pop("html", None)
    return json.dumps(data, sort_keys=True).replace(data["trial_id"], "TRIAL")


def _extract(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main() -> None:
    """Time the trial on the baseline and on this tree, interleaved, check the JSON agrees, write the results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", default="363", help="a number or 'all'")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", default="2", help="comma-separated worker counts for this tree ('' for none)")
    parser.add_argument("--baseline", default="49ba772", help="git ref of the 'before' tree ('' to skip it)")
    parser.add_argument("--out", default=str(RESULTS / "trial_speed.json"))
    args = parser.parse_args()
    reaper = _subreaper()
    counts = [int(c) for c in args.workers.split(",") if c.strip()]
    with tempfile.TemporaryDirectory(prefix="pt-trial-") as tmp_name:
        tmp = Path(tmp_name)
        trees = {"this tree": ROOT / "src"}
        if args.baseline:
            (tmp / "base").mkdir()
            trees = {f"baseline {args.baseline}": _extract(args.baseline, tmp / "base"), **trees}
        variants: list[tuple[str, Path, Path, list[str]]] = []
        for name, src in trees.items():
            home = tmp / f"home-{len(variants)}"
            imported = _cli(src, home, None, ["data", "import"])
            print(f"{name}: bundled data imported in {imported['wall_s']:.1f} s")
            variants.append((f"{name}, sequential", src, home, []))
            if name == "this tree":
                variants += [(f"{name}, --workers {n}", src, home, ["--workers", str(n)]) for n in counts]
        runs: list[dict[str, Any]] = []
        reference: str | None = None
        for rep in range(args.repeat):
            for label, src, home, extra in variants:
                out = tmp / f"trial-{len(runs)}.json"
                db = tmp / f"db-{len(runs)}.sqlite"
                cli = ["trial", "--days", str(args.days), "--windows", args.windows, "--json", str(out), *extra]
                row = {"variant": label, "repeat": rep, **_cli(src, home, db, cli)}
                text = _normalised(out)
                reference = reference or text
                row["same_json_as_first"] = text == reference
                row["windows"] = len(json.loads(out.read_text())["windows"])
                runs.append(row)
                print(
                    f"{label:36s} wall {row['wall_s']:6.1f} s  cpu {row['cpu_s']:6.1f} s  "
                    f"load {row['load_1m_before']:.1f}->{row['load_1m_after']:.1f}  "
                    f"same json: {row['same_json_as_first']}"
                )
                if not row["same_json_as_first"]:
                    sys.exit(f"{label}: the trial JSON differs from the first run's")
    summary: dict[str, dict[str, float]] = {}
    for label in dict.fromkeys(r["variant"] for r in runs):
        mine = [r for r in runs if r["variant"] == label]
        summary[label] = {
            "wall_s_median": statistics.median(r["wall_s"] for r in mine),
            "wall_s_min": min(r["wall_s"] for r in mine),
            "cpu_s_median": statistics.median(r["cpu_s"] for r in mine),
            "cpu_s_min": min(r["cpu_s"] for r in mine),
        }
    base = next((v for k, v in summary.items() if k.startswith("baseline")), None)
    if base is not None:
        for s in summary.values():
            s["speedup_wall_median"] = base["wall_s_median"] / s["wall_s_median"]
            s["speedup_wall_min"] = base["wall_s_min"] / s["wall_s_min"]
            s["speedup_cpu_median"] = base["cpu_s_median"] / s["cpu_s_median"]
    for label, s in summary.items():
        gain = f"  speed-up wall {s['speedup_wall_median']:.2f}x, cpu {s['speedup_cpu_median']:.2f}x" if base else ""
        print(
            f"{label:36s} wall median {s['wall_s_median']:6.1f} s (min {s['wall_s_min']:.1f})  "
            f"cpu median {s['cpu_s_median']:6.1f} s{gain}"
        )
    payload = {
        "benchmark": "papertrader trial end to end (CLI process, imports and HTML report included), "
        "baseline vs this tree, interleaved",
        "command": f"papertrader trial --days {args.days} --windows {args.windows} --json F [--workers N]",
        "data": "bundled AAPL, IBM, MSFT daily bars (papertrader data import), trend strategy (the default)",
        "windows": runs[0]["windows"],
        "baseline": args.baseline or None,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "cpu_includes_descendants": reaper,
        "note": "wall seconds on a shared 2-core machine: load_1m_* says how busy it was; cpu_s is the process "
        "and every descendant (Ray's too)",
        "summary": summary,
        "runs": runs,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(payload, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
