"""The same engine on a 200-symbol universe, beside a pandas-only vectorised pass over the same bars.

Input: 200 symbols x 5,000 daily bars (1,000,000 symbol-bars), each symbol a consecutive stretch of the
chained real path of bench_data (rebased to 100), on real XNYS session dates from 2000. Rules: the SMA
20/50 crossover at 1/200 of equity per symbol, next-open fills, 1 bp commission; the vectorised pass is the
lower bound any engine can reach (no order book, no ledger, no risk checks).

Run: `.venv/bin/python benchmarks/universe.py [--symbols N --bars M]`. Reads ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import bench_data
import numpy as np
import pandas as pd
from engine_vs_libraries import crossover_settings, papertrader_run
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"


def vectorised_run(bars: pd.DataFrame) -> float:
    """Seconds for a pandas-only crossover with next-open fills and costs, symbol by symbol."""
    start = time.perf_counter()
    for _, g in bars.groupby("symbol"):
        close, open_ = g["close"], g["open"]
        want = (close.rolling(20).mean() > close.rolling(50).mean()).astype(float)
        held = want.shift(1).fillna(0.0)
        rets = (open_.shift(-1) / open_ - 1.0).fillna(0.0) * held - held.diff().abs().fillna(0.0) * 1e-4
        np.cumprod(1 + rets.to_numpy())
    return time.perf_counter() - start


def measure(n_symbols: int, bars_each: int, every_cycle: bool = True) -> dict[str, object]:
    """Engine (sparse stepping, as a backtest runs) and vectorised seconds on the same universe.

    every_cycle: also step every cycle, the reference whose fills and final equity the sparse run must equal.
    """
    bars = bench_data.universe_bars(n_symbols, bars_each)
    settings = crossover_settings()
    settings = settings.model_copy(
        update={"risk": settings.risk.model_copy(update={"max_position_fraction": 1.0 / n_symbols})}
    )
    run = papertrader_run(bars, "1d", settings)
    full = papertrader_run(bars, "1d", settings, sparse=False) if every_cycle else None
    vec = vectorised_run(bars)
    return {
        "symbols": n_symbols,
        "cycles": bars_each,
        "symbol_bars": n_symbols * bars_each,
        "input": f"{n_symbols} symbols x {bars_each} daily bars cut from: {bench_data.HOW}",
        "engine_s": run.seconds,
        "engine_symbol_bars_per_s": run.bars_per_s,
        "engine_cycles_per_s": bars_each / run.seconds,
        "engine_fills": len(run.fills),
        "engine_final_equity": run.final_equity,
        "engine_cycles_stepped": run.stepped,
        "vectorised_s": vec,
        "vectorised_symbol_bars_per_s": n_symbols * bars_each / vec,
        **(
            {
                "every_cycle_s": full.seconds,
                "every_cycle_symbol_bars_per_s": full.bars_per_s,
                "every_cycle_same_fills_and_equity": full.fills == run.fills and full.final_equity == run.final_equity,
            }
            if full is not None
            else {}
        ),
    }


def main() -> None:
    """Print the table and write benchmarks/results/universe.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--bars", type=int, default=5000)
    args = parser.parse_args()
    if not bench_data.available():
        sys.exit("shared data not found: this benchmark builds its input from ../shared/data")
    logging.disable(logging.WARNING)
    r = measure(args.symbols, args.bars)
    table = Table(title=f"{args.symbols}-symbol universe, {args.bars:,} daily cycles")
    for col in ("engine symbol-bars/s", "cycles/s", "fills", "vectorised symbol-bars/s", "engine / vectorised"):
        table.add_column(col, justify="right")
    table.add_row(
        f"{r['engine_symbol_bars_per_s']:,.0f}",
        f"{r['engine_cycles_per_s']:,.0f}",
        str(r["engine_fills"]),
        f"{r['vectorised_symbol_bars_per_s']:,.0f}",
        f"{float(r['engine_s']) / float(r['vectorised_s']):.1f}x slower",  # type: ignore[arg-type]
    )
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "universe.json").write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
