"""How throughput grows with the length of a single-symbol run: 100k, 250k, 500k and 1M bars.

Each size is the first n bars of bench_data's chained real path, run by papertrader and by backtesting.py
(and backtrader where asked: it is the slowest) with the crossover rules of engine_vs_libraries. Flat
bars/s across sizes means per-bar cost is constant (no hidden quadratic work such as growing lists scanned
every cycle).

Run: `.venv/bin/python benchmarks/scaling.py [--sizes 100000 250000 ...]`. Reads ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import bench_data
from engine_vs_libraries import LibRun, backtesting_run, backtrader_run, papertrader_run
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"
SIZES = (100_000, 250_000, 500_000, 1_000_000)


def row(n: int, runs: list[LibRun]) -> dict[str, Any]:
    """One size's figures, keyed by library."""
    return {"bars": n, **{r.name: {"seconds": r.seconds, "bars_per_s": r.bars_per_s} for r in runs}}


def measure(sizes: tuple[int, ...], backtrader_upto: int = 0) -> list[dict[str, Any]]:
    """papertrader and backtesting.py at every size; backtrader at sizes up to `backtrader_upto`."""
    rows = []
    for n in sizes:
        bars = bench_data.path_bars(n)
        runs = [papertrader_run(bars), backtesting_run(bars)]
        if n <= backtrader_upto:
            runs.append(backtrader_run(bars))
        rows.append(row(n, runs))
    return rows


def table(rows: list[dict[str, Any]]) -> Table:
    """bars/s per size and library."""
    libs = ("papertrader", "backtesting.py", "backtrader")
    t = Table(title="throughput vs run length (single symbol, bars/s)")
    for col in ("bars", *libs):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(f"{r['bars']:,}", *(f"{r[lib]['bars_per_s']:,.0f}" if lib in r else "-" for lib in libs))
    return t


def main() -> None:
    """Print the table and write benchmarks/results/scaling.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--backtrader-upto", type=int, default=100_000)
    args = parser.parse_args()
    if not bench_data.available():
        sys.exit("shared data not found: this benchmark builds its input from ../shared/data")
    logging.disable(logging.WARNING)
    rows = measure(tuple(args.sizes), args.backtrader_upto)
    Console().print(table(rows))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scaling.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
