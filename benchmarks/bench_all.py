"""`make bench`: every benchmark of issue #9 in one run, one comparison table, one JSON file.

Items, each figure beside its alternative measured in the same run:
 1. engine throughput, 1M-bar single-symbol SMA crossover: papertrader vs backtesting.py vs backtrader,
    with their agreement on the trade list and final equity;
 2. the same engine on a 200-symbol universe vs a pandas-only vectorised pass;
 3. decision latency p50/p99 of a full live cycle for 200 symbols (LSTM+GRU+PPO, risk, broker, SQLite
    commit each cycle) vs without the database and vs per-symbol inference;
 4. feature and training throughput (benchmarks/features_throughput.py and models_throughput.py, run as
    they are and read back from their JSON);
 5. throughput vs run length, 100k to 1M bars (read from item 1's run as it passes 100k, 250k, 500k);
 6. memory a backtest holds per bar, one symbol (beside backtesting.py) and 200 symbols (engine_memory.py).

Run: `make bench` or `.venv/bin/python benchmarks/bench_all.py [--quick]`. Writes
benchmarks/results/bench_all.json (plus each part's own JSON). Reads ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench_data
import decision_latency
import engine_memory
import engine_vs_libraries
import scaling
import universe
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def _script(name: str, *args: str) -> float:
    """Run one of the existing benchmark scripts as it is; its wall seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, str(HERE / name), *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _read(name: str) -> Any:
    return json.loads((RESULTS / name).read_text())


def run_all(quick: bool) -> dict[str, Any]:
    """Every item, with a progress bar per item; returns the combined results."""
    n = 100_000 if quick else 1_000_000
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("1. engine vs libraries", lambda: engine_vs_libraries.compare(n)),
        ("2. 200-symbol universe", lambda: universe.measure(200, 1000 if quick else 5000)),
        ("3. decision latency", lambda: decision_latency.measure(30 if quick else 200, 5 if quick else 15, 2048)),
        ("4a. features throughput", lambda: _script("features_throughput.py", *(["--rows", "8000"] if quick else []))),
        (
            "6. memory per bar",
            lambda: engine_memory.measure_all(20_000 if quick else 400_000, 200, 1000 if quick else 5000),
        ),
        (
            "4b. models throughput",
            lambda: _script("models_throughput.py", "--quick", "--json", str(RESULTS / "models_throughput.json")),
        ),
    ]
    out: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn()) as progress:
        task = progress.add_task("make bench", total=len(steps))
        for label, fn in steps:
            progress.update(task, description=f"make bench: {label}")
            start = time.perf_counter()
            out[label] = fn()
            seconds[label] = time.perf_counter() - start
            progress.advance(task)
    out["5. scaling"] = scaling.rows_from(out["1. engine vs libraries"])
    out["4a. features throughput"] = _read("features_throughput.json")
    out["4b. models throughput"] = _read("models_throughput.json")
    out["seconds_per_item"] = seconds
    return out


def _fmt(x: float, unit: str = "") -> str:
    return f"{x:,.0f}{unit}" if abs(x) >= 100 else f"{x:,.2f}{unit}"


def table(r: dict[str, Any]) -> Table:
    """The one comparison table: item, what, papertrader's figure, the alternative's, the ratio."""
    t = Table(title="papertrader benchmarks (issue #9): each figure beside its alternative, same run")
    for col, just in (
        ("item", "left"),
        ("measure", "left"),
        ("papertrader", "right"),
        ("alternative", "left"),
        ("value", "right"),
        ("note", "left"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    e = r["1. engine vs libraries"]
    pt = e["runs"]["papertrader"]
    for lib in ("backtesting.py", "backtrader"):
        a, g = e["runs"][lib], e["agreement"][lib]
        t.add_row(
            "1 engine",
            f"{e['bars']:,}-bar SMA 20/50, bars/s",
            _fmt(pt["bars_per_s"]),
            lib,
            _fmt(a["bars_per_s"]),
            f"{g['fills']} fills vs {g['fills_papertrader']}: {g['identical_price']} on the same bar at the same "
            f"price; sizes equal up to fill {g['first_difference_at_fill']}, then drift (fee rounding moved equity a "
            f"share, and {g['fills'] - g['same_bar']} gap-up entries: papertrader buys what cash covers, the other "
            f"buys a bar later); final equity {g['equity_gap_pct']:+.1f}% after the path compounds",
        )
    every = e["runs"].get("papertrader (every cycle)")
    if every is not None:
        g = e["agreement"]["papertrader (every cycle)"]
        t.add_row(
            "",
            "sparse stepping (what a backtest runs)",
            _fmt(pt["bars_per_s"]),
            "papertrader, every cycle stepped",
            _fmt(every["bars_per_s"]),
            f"{pt.get('cycles_stepped', '-')} of {e['bars']:,} cycles stepped; {g['identical_bar_and_qty']}/"
            f"{g['fills']} fills identical, equity gap {g['equity_gap']:+.2f}",
        )
    u = r["2. 200-symbol universe"]
    if "every_cycle_symbol_bars_per_s" in u:
        t.add_row(
            "",
            "sparse stepping, symbol-bars/s",
            _fmt(u["engine_symbol_bars_per_s"]),
            "papertrader, every cycle stepped",
            _fmt(u["every_cycle_symbol_bars_per_s"]),
            f"{u['engine_cycles_stepped']} of {u['cycles']:,} cycles stepped; identical fills and equity: "
            f"{u['every_cycle_same_fills_and_equity']}",
        )
    t.add_row(
        "2 universe",
        f"{u['symbols']} symbols x {u['cycles']:,} cycles, symbol-bars/s",
        _fmt(u["engine_symbol_bars_per_s"]),
        "pandas vectorised",
        _fmt(u["vectorised_symbol_bars_per_s"]),
        f"{u['engine_cycles_per_s']:,.0f} cycles/s, {u['engine_fills']:,} fills",
    )
    d = r["3. decision latency"]
    full, nodb, slow = d["full_cycle_sqlite"], d["full_cycle_no_db"], d["per_symbol_inference_sqlite_free"]
    t.add_row(
        "3 latency",
        "full cycle p50 / p99 ms (SQLite commit)",
        f"{full['p50_ms']:.0f} / {full['p99_ms']:.0f}",
        "no database",
        f"{nodb['p50_ms']:.0f} / {nodb['p99_ms']:.0f}",
        f"{full['cycles']} cycles, 200 symbols",
    )
    t.add_row(
        "", "", "", "per-symbol inference", f"{slow['p50_ms']:.0f} / {slow['p99_ms']:.0f}", f"{slow['cycles']} cycles"
    )
    f = r["4a. features throughput"]
    t.add_row(
        "4 features",
        "batch transform, bars/s",
        _fmt(f["batch_transform_bars_per_s"]),
        "raw batch (no scaling)",
        _fmt(f["batch_raw_bars_per_s"]),
        f"{f['symbols']} symbols x {f['rows']:,} rows",
    )
    t.add_row(
        "",
        "streaming cycle p50 / p99 ms",
        f"{f['stream_cycle_ms_p50']:.2f} / {f['stream_cycle_ms_p99']:.2f}",
        "naive recompute",
        _naive(f),
        "one new row for all symbols",
    )
    for m in r["4b. models throughput"]:
        t.add_row("4 models", m["what"], _fmt(m["value"]), m["alt_label"], _fmt(m["alternative"]), m["label"])
    for row in sorted(r["5. scaling"], key=lambda x: x["bars"]):
        t.add_row(
            "5 scaling",
            f"first {row['bars']:,} bars of the run, bars/s",
            _fmt(row["papertrader"]["bars_per_s"]),
            "backtesting.py / backtrader",
            " / ".join(_fmt(row[lib]["bars_per_s"]) if lib in row else "-" for lib in ("backtesting.py", "backtrader")),
            "setup over the whole input included",
        )
    m = r.get("6. memory per bar")
    if m:
        one, lib, wide = m["papertrader_one_symbol"], m["backtesting_one_symbol"], m["papertrader_universe"]
        t.add_row(
            "6 memory",
            f"KB per bar held, {one['cycles']:,} bars",
            f"{one['kb_per_cycle']:.3f}",
            "backtesting.py",
            f"{lib['kb_per_cycle']:.3f}",
            f"200 symbols: {wide['kb_per_symbol_bar']:.4f} KB per symbol-bar (peak resident set growth)",
        )
    return t


def _naive(f: dict[str, Any]) -> str:
    for key in ("naive_cycle_ms_at_stream_len", "naive_cycle_ms", "naive_ms_at_stream_rows"):
        if key in f:
            return f"{f[key]:,.1f} ms"
    keys = [k for k in f if k.startswith("naive") and isinstance(f[k], float)]
    return f"{f[keys[0]]:,.1f} ({keys[0]})" if keys else "-"


def main() -> None:
    """Run everything, print the table, write benchmarks/results/bench_all.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller inputs (a smoke run, not the issue's sizes)")
    args = parser.parse_args()
    if not bench_data.available():
        sys.exit("shared data not found: the benchmarks build their inputs from ../shared/data")
    logging.disable(logging.WARNING)
    start = time.perf_counter()
    result = run_all(args.quick)
    result["wall_s"] = time.perf_counter() - start
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    result["input"] = bench_data.HOW
    console = Console(width=200)
    console.print(table(result))
    console.print(f"input: {bench_data.HOW}")
    console.print(f"total {result['wall_s']:.0f} s on {os.cpu_count()} CPUs")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_all.json").write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
