"""How throughput grows with the length of a single-symbol run: 100k, 250k, 500k and 1M bars.

One 1M-bar run per library (bench_data's chained real path, the crossover rules of engine_vs_libraries);
each library notes the seconds it took to reach 100k, 250k and 500k bars, and the full run gives 1M.
Setup over the whole 1M input (papertrader's panel and features, backtesting.py's indicator arrays,
backtrader's preloaded feed) is inside every prefix, so short prefixes read a little slow for all three
alike. Flat or rising bars/s means per-bar cost is constant: no hidden quadratic work such as a growing
list scanned every cycle.

Run: `.venv/bin/python benchmarks/scaling.py [--bars N]` (bench_all.py reads the same figures from its
item-1 run instead of running again). Reads ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import bench_data
from engine_vs_libraries import CHECKPOINTS, compare
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"


def rows_from(result: dict[str, Any]) -> list[dict[str, Any]]:
    """bars/s at each checkpoint and at the end, per library, from a compare() result."""
    n = result["bars"]
    rows = []
    for size in (*(c for c in CHECKPOINTS if c < n), n):
        row: dict[str, Any] = {"bars": size}
        for lib, run in result["runs"].items():
            seconds = (
                run["seconds"]
                if size == n
                else result["checkpoints"][lib].get(str(size), result["checkpoints"][lib].get(size))
            )
            if seconds:
                row[lib] = {"seconds": seconds, "bars_per_s": size / seconds}
        rows.append(row)
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
    parser.add_argument("--bars", type=int, default=1_000_000)
    args = parser.parse_args()
    if not bench_data.available():
        sys.exit("shared data not found: this benchmark builds its input from ../shared/data")
    logging.disable(logging.WARNING)
    rows = rows_from(compare(args.bars))
    Console().print(table(rows))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scaling.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
