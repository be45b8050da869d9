"""Storing one new bar per symbol in the lake, before and after delta files, at 500 and at 5,000 rows of history.

Run: `.venv/bin/python benchmarks/lake_write.py [--symbols 20] [--bars 10]`. Reads ../shared/data.
Writes benchmarks/results/lake_write.json.

The universe: the real daily files of shared/data that start in 1998, tiled to `--symbols` symbols (each a
real series scaled by a per-symbol factor). Each symbol's partition first holds `history` rows; then
`--bars` bars are stored one at a time, all symbols in one `Lake.write_bars` call as the live loop does.
Before: `write_bars(...)` (read, merge and rewrite each partition with an fsync). After:
`write_bars(..., append=True)` (one small delta file per symbol, merged 8 at a time). Each is timed per
bar on this machine (wall clock, median and max over the bars, divided by the symbols) with the rows
written to disk per bar per symbol (the deterministic counter the tests compare), `Lake.tidy` after each
bar (the live loop runs it after the cycle: the after side's delta merges), and the after side's
end-of-session `Lake.compact` once.

Per whole bar (all symbols): `bar_cpu_ms_*` and `bar_wall_ms_*` time the write plus the tidy after it (CPU time
of the process, every thread, and wall clock; p50 and p99 over the bars). `--append-only` skips the rewrite side
(at 200 symbols x 5,000 rows it rewrites a million rows a bar); `--label` names the code measured and `--out` the
file, so the same script can time an earlier commit (`PYTHONPATH=<old checkout>/src`) beside this one:
`--symbols 200 --bars 24 --append-only` is the live loop's bar at the soak's size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from papertrader.core.clock import SimClock
from papertrader.data import store
from papertrader.data.store import Lake

DAILY = Path(__file__).resolve().parents[2] / "shared" / "data" / "equity-us" / "1d"
OUT = Path(__file__).resolve().parent / "results" / "lake_write.json"
REAL = ("SPY", "AAPL", "IBM", "BAC", "AIG")  # the files that start in 1998 (5,849 rows)
HISTORIES = (500, 5_000)


def _bars(symbols: int) -> pd.DataFrame:
    frames = []
    for j in range(symbols):
        path = DAILY / f"{REAL[j % len(REAL)]}.csv.gz"
        if not path.exists():
            sys.exit(f"shared data not found at {path}")
        df = pd.read_csv(path)
        ts = pd.to_datetime(df["timestamp"]).dt.tz_localize("America/New_York").dt.tz_convert("UTC")
        frame = df.drop(columns=["timestamp", "symbol"], errors="ignore").assign(ts=ts, symbol=f"S{j:03d}")
        for f in ("open", "high", "low", "close"):
            frame[f] = frame[f] * (1.0 + 0.01 * j)
        frames.append(frame.loc[:, ["symbol", "ts", "open", "high", "low", "close", "volume"]])
    return pd.concat(frames, ignore_index=True)


def _run(bars: pd.DataFrame, history: int, steps: int, append: bool, symbols: int) -> dict[str, Any]:
    """Store `steps` bars one at a time after `history` rows; ms per bar per symbol and rows written."""
    end = 5_600
    by_pos = bars.assign(pos=bars.groupby("symbol").cumcount())
    written: list[int] = []
    real_write = store._atomic_write
    real_many = getattr(store, "_atomic_write_many", None)  # the batched append (absent in earlier checkouts)

    def counting(frame: pd.DataFrame, path: Path) -> None:
        written.append(len(frame))
        real_write(frame, path)

    def counting_many(items: Any) -> None:
        if len(items) > 1:  # one item goes through _atomic_write, counted there
            written.extend(len(frame) for frame, _ in items)
        assert real_many is not None
        real_many(items)

    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake(Path(tmp) / "lake", clock=SimClock(datetime(2024, 1, 2, tzinfo=UTC)))
        lake.write_bars(by_pos[(by_pos["pos"] >= end - history) & (by_pos["pos"] < end)].drop(columns="pos"), "1d", "x")
        per_bar: list[float] = []
        tidy: list[float] = []
        rows: list[float] = []
        bar_cpu: list[float] = []
        bar_wall: list[float] = []
        store._atomic_write = counting  # type: ignore[assignment]
        if real_many is not None:
            store._atomic_write_many = counting_many  # type: ignore[attr-defined]
        try:
            for k in range(steps):
                frame = by_pos[by_pos["pos"] == end + k].drop(columns="pos")
                written.clear()
                cpu0 = time.process_time()
                started = first = time.perf_counter()
                lake.write_bars(frame, "1d", "live", fetched_at=datetime(2024, 1, 2, tzinfo=UTC), append=append)
                per_bar.append((time.perf_counter() - started) * 1e3 / symbols)
                started = time.perf_counter()
                lake.tidy()  # what the live loop does after the cycle (merges deltas 8 at a time)
                tidy.append((time.perf_counter() - started) * 1e3 / symbols)
                bar_wall.append((time.perf_counter() - first) * 1e3)
                bar_cpu.append((time.process_time() - cpu0) * 1e3)
                rows.append(sum(written) / symbols)
        finally:
            store._atomic_write = real_write  # type: ignore[assignment]
            if real_many is not None:
                store._atomic_write_many = real_many  # type: ignore[attr-defined]
        started = time.perf_counter()
        lake.compact()
        compact_ms = (time.perf_counter() - started) * 1e3 / symbols
    return {
        "ms_per_bar_per_symbol_median": round(statistics.median(per_bar), 3),
        "ms_per_bar_per_symbol_max": round(max(per_bar), 3),
        "tidy_ms_per_bar_per_symbol_median": round(statistics.median(tidy), 3),
        "tidy_ms_per_bar_per_symbol_max": round(max(tidy), 3),
        "rows_written_per_bar_per_symbol": round(statistics.mean(rows), 3),
        "compact_ms_per_symbol": round(compact_ms, 3) if append else None,
        "bar_cpu_ms_p50": round(float(np.percentile(bar_cpu, 50)), 2),
        "bar_cpu_ms_p99": round(float(np.percentile(bar_cpu, 99)), 2),
        "bar_wall_ms_p50": round(float(np.percentile(bar_wall, 50)), 2),
        "bar_wall_ms_p99": round(float(np.percentile(bar_wall, 99)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--bars", type=int, default=10)
    parser.add_argument("--append-only", action="store_true", help="time only the append side (the live loop's)")
    parser.add_argument("--label", default=None, help="what code is measured (default: this checkout's commit)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    bars = _bars(args.symbols)
    result: dict[str, Any] = {"symbols": args.symbols, "bars": args.bars, "code": args.label or _commit()}
    modes = (("after", True),) if args.append_only else (("before", False), ("after", True))
    for mode, append in modes:
        result[mode] = {str(h): _run(bars, h, args.bars, append, args.symbols) for h in HISTORIES}
        print(mode, json.dumps(result[mode]), flush=True)
    after = result["after"]
    result["after_ratio_5000_vs_500"] = round(
        after["5000"]["ms_per_bar_per_symbol_median"] / after["500"]["ms_per_bar_per_symbol_median"], 3
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


def _commit() -> str:
    """The commit of the papertrader package being measured (its checkout's HEAD), or 'unknown'."""
    import papertrader

    where = Path(papertrader.__file__).resolve().parent
    try:
        done = subprocess.run(["git", "-C", str(where), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


if __name__ == "__main__":
    main()
