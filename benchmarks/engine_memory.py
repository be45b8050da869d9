"""Memory a backtest holds per bar: one symbol (the crossover of engine_vs_libraries) and a 200-symbol universe.

Each size runs in a fresh Python process (so one run's peak cannot hide another's): the bars are built, the
resident set is read, then papertrader's engine runs the SMA 20/50 crossover (sparse stepping, as a backtest
does) and keeps its per-cycle outcomes alive; the figure is the peak resident set above the one before the run,
per bar and per symbol-bar, in KB, and what is still resident after the run while papertrader's engine and
outcomes are kept (`kb_per_cycle_held`; backtesting.py keeps its result). papertrader builds its features as the
kernel does (`engine/strategies.build`: only the panels the strategy reads, `feature_panels`). backtesting.py's
run on the same one-symbol bars is measured the same way as the alternative. Target of issue #17: <= 0.3 KB per
bar.

Run: `.venv/bin/python benchmarks/engine_memory.py [--bars N --symbols S --cycles M]`. Writes
benchmarks/results/engine_memory.json. Reads ../shared/data.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import bench_data
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def _rss_kb() -> float:
    """The current resident set of this process in KB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 1024


def child(engine: str, symbols: int, bars: int) -> dict[str, Any]:
    """Inside the fresh process: build the input, run once, report the peak above the baseline."""
    logging.disable(logging.WARNING)
    from engine_vs_libraries import backtesting_run, crossover_settings, papertrader_run

    data = bench_data.path_bars(bars) if symbols == 1 else bench_data.universe_bars(symbols, bars)
    kept: list[object] = []
    gc.collect()
    before = _rss_kb()
    if engine == "papertrader":
        settings = crossover_settings()
        if symbols > 1:
            risk = settings.risk.model_copy(update={"max_position_fraction": 1.0 / symbols})
            settings = settings.model_copy(update={"risk": risk})
        run = papertrader_run(data, "1m" if symbols == 1 else "1d", settings, keep=kept)
    else:
        run = backtesting_run(data)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    gc.collect()
    held = max(0.0, _rss_kb() - before)  # what the run still holds: panel, features, engine, every outcome
    grown = max(0.0, peak - before)
    return {
        "engine": engine,
        "symbols": symbols,
        "cycles": bars,
        "symbol_bars": symbols * bars,
        "fills": len(run.fills),
        "seconds": run.seconds,
        "rss_before_kb": before,
        "peak_rss_kb": peak,
        "peak_growth_mib": grown / 1024,
        "kb_per_cycle": grown / bars,
        "kb_per_symbol_bar": grown / (symbols * bars),
        "held_after_mib": held / 1024,
        "kb_per_cycle_held": held / bars,
        # the feature panels the run built (the kernel's path builds only those the strategy reads)
        **({"feature_panels": sorted(getattr(kept[0], "features", {}))} if kept else {}),
    }


def measure(engine: str, symbols: int, bars: int) -> dict[str, Any]:
    """One size in a fresh interpreter."""
    out = subprocess.run(
        [
            sys.executable,
            str(HERE / "engine_memory.py"),
            "--child",
            engine,
            "--symbols",
            str(symbols),
            "--bars",
            str(bars),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=HERE,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def measure_all(bars: int, symbols: int, cycles: int) -> dict[str, Any]:
    """papertrader at one symbol and at `symbols` symbols, backtesting.py at one symbol."""
    return {
        "papertrader_one_symbol": measure("papertrader", 1, bars),
        "backtesting_one_symbol": measure("backtesting.py", 1, bars),
        "papertrader_universe": measure("papertrader", symbols, cycles),
        "input": bench_data.HOW,
        "how": "peak resident set above the one before the run, fresh process per size",
    }


def main() -> None:
    """Print the table and write benchmarks/results/engine_memory.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=400_000, help="bars of the one-symbol run")
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--cycles", type=int, default=5000, help="daily cycles of the universe run")
    parser.add_argument("--child", choices=("papertrader", "backtesting.py"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not bench_data.available():
        sys.exit("shared data not found: this benchmark builds its input from ../shared/data")
    if args.child:
        print(json.dumps(child(args.child, args.symbols, args.bars)))
        return
    result = measure_all(args.bars, args.symbols, args.cycles)
    table = Table(title="memory held by a backtest (peak resident set above the start), KB")
    for col in ("run", "symbols x cycles", "fills", "peak MiB", "KB / cycle", "KB / symbol-bar", "KB / cycle held"):
        table.add_column(col, justify="right")
    for name in ("papertrader_one_symbol", "backtesting_one_symbol", "papertrader_universe"):
        r = result[name]
        table.add_row(
            name,
            f"{r['symbols']} x {r['cycles']:,}",
            str(r["fills"]),
            f"{r['peak_growth_mib']:.1f}",
            f"{r['kb_per_cycle']:.3f}",
            f"{r['kb_per_symbol_bar']:.4f}",
            f"{r['kb_per_cycle_held']:.3f}",
        )
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "engine_memory.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
