"""Feature pipeline throughput on 200 symbols of real minute bars: batch, streaming, and the naive way.

Run: `.venv/bin/python benchmarks/features_throughput.py [--rows N]`. Reads ../shared/data.

The panel: the 31,757 timestamps of SPY's 2011 minute file (UTC, extended hours) as the time axis, and
200 symbol columns, each the real OHLCV sequence of one of five real minute files (SPY 2011, SPY/IBM/BAC/
AIG October 2013) tiled to the panel's length and circularly shifted by a per-column offset, so no two
columns are equal. Every column has a bar every minute (dense: the most work per row). Families:
technical, returns, calendar and macro (the real bundled series); fundamentals and news have no real
offline data at this scale and are left out.

Streaming: the stream is warmed on the first rows, then each of the next cycles is timed alone (one new
row for all 200 symbols). The naive alternative is what a live loop without a streaming mode must do:
recompute the batch transform on the whole history every cycle; it is timed in the same run at the
history length the streaming cycles were measured at, and at the full panel length.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from papertrader.data.adapters.bundled import BundledSource
from papertrader.features.inputs import External, FeatureInputs
from papertrader.features.macro import MacroSpec
from papertrader.features.pipeline import FeaturePipeline
from papertrader.features.spec import PipelineSpec
from papertrader.features.technical import PriceArrays

MINUTE = Path(__file__).resolve().parents[2] / "shared" / "data" / "equity-us" / "1m"
SOURCES = ("SPY-trade-2011", "SPY-trade-2013-10", "IBM-trade-2013-10", "BAC-trade-2013-10", "AIG-trade-2013-10")
N_SYMBOLS = 200
FIELDS = ("open", "high", "low", "close", "volume")


def minute_panel(rows: int | None) -> tuple[FeatureInputs, str]:
    """The 200-column real minute panel described in the module docstring, and how it was built."""
    frames = {name: pd.read_csv(MINUTE / f"{name}.csv.gz") for name in SOURCES}
    grid = pd.DatetimeIndex(pd.to_datetime(frames[SOURCES[0]]["timestamp"], utc=True))
    t = len(grid) if rows is None else min(rows, len(grid))
    arrays = {f: np.empty((t, N_SYMBOLS)) for f in FIELDS}
    for j in range(N_SYMBOLS):
        src = frames[SOURCES[j % len(SOURCES)]]
        offset = (j * 997) % len(src)
        idx = (np.arange(t) + offset) % len(src)
        for f in FIELDS:
            arrays[f][:, j] = src[f].to_numpy(dtype=np.float64)[idx]
    macro = dict(BundledSource().series())
    symbols = tuple(f"S{j:03d}" for j in range(N_SYMBOLS))
    inputs = FeatureInputs(symbols, "1m", grid[:t], PriceArrays(**arrays), External(macro=macro))
    how = (
        f"{N_SYMBOLS} columns x {t:,} minute rows (SPY 2011 timestamps); column j = real OHLCV of "
        f"{'/'.join(SOURCES)}[j % 5], tiled and shifted by (997*j) rows"
    )
    return inputs, how


CPU: dict[str, float] = {}


def timed(fn: Any, label: str = "") -> tuple[float, Any]:
    """Wall seconds one call takes, and its result; its CPU seconds go to CPU[label]."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    if label:
        CPU[label] = time.process_time() - cpu
    return time.perf_counter() - start, out


def main() -> None:
    """Print the table and write benchmarks/results/features_throughput.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=None, help="panel rows (default: all 31,757)")
    parser.add_argument("--warm", type=int, default=2000, help="rows replayed into the stream before timing")
    parser.add_argument("--cycles", type=int, default=500, help="streaming cycles timed one by one")
    args = parser.parse_args()
    if not MINUTE.exists():
        sys.exit(f"shared data not found at {MINUTE}")
    inputs, how = minute_panel(args.rows)
    t, n = len(inputs), len(inputs.symbols)
    bars = t * n
    spec = PipelineSpec(macro=MacroSpec())
    pipe = FeaturePipeline(spec)
    console = Console(width=150)
    console.print(f"panel: {how}")
    console.print(
        f"features: {len(spec.raw_names())} + {len(spec.raw_names())} masks; families {list(spec.family_names())}"
    )

    pipe.raw(inputs.head(10))  # builds the exchange calendars once per process (about a second each)
    raw_s, raw = timed(lambda: pipe.raw(inputs), "raw")
    del raw
    fit_s, fitted = timed(lambda: pipe.fit(inputs, end=inputs.ts[t // 2]), "fit")
    batch_s, batch = timed(lambda: fitted.transform(inputs), "transform")

    # streaming: warm on the first rows, then time each following cycle on its own
    warm = min(args.warm, t - args.cycles)
    stream = fitted.stream(inputs.symbols, inputs.interval, inputs.external)
    warm_s, _ = timed(lambda: stream.replay(inputs.head(warm)))
    p = inputs.prices
    latencies, cpu_latencies, rows = [], [], []
    for k in range(warm, warm + args.cycles):
        start, cpu = time.perf_counter(), time.process_time()
        row = stream.update(inputs.ts[k], p.open[k], p.high[k], p.low[k], p.close[k], p.volume[k])
        latencies.append(time.perf_counter() - start)
        cpu_latencies.append(time.process_time() - cpu)
        rows.append(row)
    streamed = np.stack(rows)
    expected = np.moveaxis(batch.data[:, warm : warm + args.cycles], 0, -1)
    max_diff = float(np.max(np.abs(streamed - expected)))
    del batch
    gc.collect()

    # naive: recompute the batch on the whole history, once per cycle
    history = warm + args.cycles
    naive_runs, naive_cpu = [], []
    for _ in range(3):
        naive_runs.append(timed(lambda: fitted.transform(inputs.head(history)), "naive")[0])
        naive_cpu.append(CPU["naive"])
    naive_s = statistics.median(naive_runs)

    lat_ms = np.asarray(latencies) * 1e3
    cpu_ms = np.asarray(cpu_latencies) * 1e3
    result: dict[str, Any] = {
        "panel": how,
        "symbols": n,
        "rows": t,
        "bars": bars,
        "features": len(spec.raw_names()),
        "output_columns": len(spec.names()),
        "families": list(spec.family_names()),
        "batch_raw_s": raw_s,
        "batch_raw_bars_per_s": bars / raw_s,
        "batch_raw_cpu_s": CPU["raw"],
        "batch_raw_bars_per_cpu_s": bars / CPU["raw"],
        "fit_s": fit_s,
        "batch_transform_s": batch_s,
        "batch_transform_bars_per_s": bars / batch_s,
        "batch_transform_cpu_s": CPU["transform"],
        "batch_transform_bars_per_cpu_s": bars / CPU["transform"],
        "stream_warmup_rows": warm,
        "stream_warmup_s": warm_s,
        "stream_cycles_timed": args.cycles,
        "stream_cycle_ms_mean": float(lat_ms.mean()),
        "stream_cycle_ms_p50": float(np.percentile(lat_ms, 50)),
        "stream_cycle_ms_p99": float(np.percentile(lat_ms, 99)),
        "stream_cycle_cpu_ms_p50": float(np.percentile(cpu_ms, 50)),
        "stream_cycle_cpu_ms_p99": float(np.percentile(cpu_ms, 99)),
        "naive_history_rows": history,
        "naive_cycle_ms": naive_s * 1e3,
        "naive_cycle_cpu_ms": statistics.median(naive_cpu) * 1e3,
        "naive_full_history_cycle_ms": batch_s * 1e3,
        "speedup_vs_naive": naive_s * 1e3 / float(np.percentile(lat_ms, 50)),
        "stream_vs_batch_max_abs_diff": max_diff,
        "load_average_1m": os.getloadavg()[0],
        "cpus": os.cpu_count(),
    }

    table = Table(title=f"feature pipeline, {n} symbols x {t:,} real minute bars (tiled, see above)")
    for col, justify in (("measure", "left"), ("wall", "right"), ("CPU", "right"), ("note", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    table.add_row(
        "batch raw features",
        f"{bars / raw_s:,.0f} bars/s",
        f"{bars / CPU['raw']:,.0f} bars/s",
        f"{raw_s:.1f} s wall for {bars:,} bars",
    )
    table.add_row(
        "batch transform",
        f"{bars / batch_s:,.0f} bars/s",
        f"{bars / CPU['transform']:,.0f} bars/s",
        "raw + bounded fill + masks + robust scaling",
    )
    table.add_row(
        "fit (scaler, first half)", f"{fit_s:.1f} s", f"{CPU['fit']:.1f} s", "window's raw features + quantiles"
    )
    table.add_row(
        "streaming, one cycle (p50)",
        f"{result['stream_cycle_ms_p50']:.2f} ms",
        f"{result['stream_cycle_cpu_ms_p50']:.2f} ms",
        f"p99 wall {result['stream_cycle_ms_p99']:.2f} ms, CPU {result['stream_cycle_cpu_ms_p99']:.2f} ms; {n} symbols",
    )
    table.add_row("stream warm-up", f"{warm_s:.1f} s", "", f"replay of {warm:,} rows before the timed cycles")
    table.add_row(
        "naive, one cycle",
        f"{naive_s * 1e3:,.0f} ms",
        f"{result['naive_cycle_cpu_ms']:,.0f} ms",
        f"batch transform of the {history:,}-row history, every cycle",
    )
    table.add_row(
        "naive at full history", f"{batch_s * 1e3:,.0f} ms", f"{CPU['transform'] * 1e3:,.0f} ms", f"all {t:,} rows"
    )
    table.add_row(
        "streaming speedup",
        f"{result['speedup_vs_naive']:,.0f}x",
        f"{result['naive_cycle_cpu_ms'] / result['stream_cycle_cpu_ms_p50']:,.0f}x",
        f"vs naive at {history:,} rows (p50)",
    )
    table.add_row("stream vs batch", f"{max_diff:.1e}", "", "max |difference| over the timed cycles")
    console.print(table)
    console.print(
        f"machine: {os.cpu_count()} CPUs, 1-minute load average {result['load_average_1m']:.1f} at the end "
        "(CPU = process time: what the work costs when it has a core to itself)"
    )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "features_throughput.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
