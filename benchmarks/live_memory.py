"""Where a live run's memory grows, session by session: the live panel and features against everything else.

Runs the soak's live loop (benchmarks/live_soak.py: real SPY minute bars scaled onto `--symbols` tickers, the
fake vendor's faults, the trend strategy, SQLite) in this process, without the kill, and at each session's end
(the next session's first bar) records: the process RSS split into anonymous and file-backed pages
(/proc/self/status), glibc malloc's arena and in-use bytes (mallinfo2), the Python heap traced by tracemalloc
(numpy arrays included) with its ten largest growths by source line since the previous session, the Arrow pool,
and the bytes held by the live panel's price arrays and the engine's feature arrays (their whole capacity-doubled
buffers). The question it answers: would keeping only the rows a run can still read make memory flat?

`--panel-rows none` keeps every bar (the live panel before it was bounded); the default `0` keeps the longest
look-back of the run's readers plus a margin and drops older rows in chunks (`live.panel_rows`).

Run: `.venv/bin/python benchmarks/live_memory.py --symbols 20 --sessions 7` (reads ../shared/data).
Writes benchmarks/results/live_memory.json.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import logging
import tempfile
import tracemalloc
from datetime import datetime
from pathlib import Path
from typing import Any

import live_soak as soak
import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (n, ctypes.c_size_t)
        for n in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def malloc_mb() -> dict[str, float]:
    """glibc malloc: bytes in its arenas and mmapped blocks, and the part in use (empty where not glibc)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        mi = libc.mallinfo2()
    except (OSError, AttributeError):
        return {}
    return {
        "malloc_held_mb": (mi.arena + mi.hblkhd) / 2**20,
        "malloc_in_use_mb": (mi.uordblks + mi.hblkhd) / 2**20,
    }


def rss_split_mb() -> dict[str, float]:
    """RssAnon (heap, stacks, allocator pools) and RssFile (mapped libraries and files) of this process."""
    out: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            out[f"{key.lower()}_mb"] = int(value.split()[0]) / 1024
    return out


def held_mb(arrays: Any) -> float:
    """Bytes of the buffers these arrays are views of (a capacity-doubled buffer counted whole)."""
    seen: dict[int, int] = {}
    for a in arrays:
        owner = a.base if isinstance(a.base, np.ndarray) else a
        seen[id(owner)] = owner.nbytes
    return sum(seen.values()) / 2**20


def measure(
    symbols: int, sessions: int, interval: str, panel_rows: int | None = 0, atr_period: int = 14
) -> list[dict[str, Any]]:
    """Run the live loop and return one row per session boundary."""
    import pyarrow as pa

    from papertrader.config.live import LiveSettings
    from papertrader.config.settings import RiskSettings, Settings, StrategySettings
    from papertrader.core.clock import SimClock
    from papertrader.data.store import Lake
    from papertrader.domain.sessions import NEW_YORK, interval_minutes, session_date
    from papertrader.engine.cycle import CycleOutcome
    from papertrader.engine.orchestrator import LiveOrchestrator, LiveRequest
    from papertrader.persistence.db import init_db, make_engine
    from papertrader.persistence.repository import RunRepository

    bars = soak.minute_bars(symbols, sessions, interval)
    days = sorted(bars["ts"].dt.tz_convert(NEW_YORK).dt.date.unique())
    live_days = days[soak.HISTORY_SESSIONS :]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        history = bars[bars["ts"].dt.tz_convert(NEW_YORK).dt.date < live_days[0]]
        Lake(home / "lake").write_bars(history, interval, "shared-minute")
        settings = Settings(
            home=home,
            strategy=StrategySettings(fast=5, slow=20),
            risk=RiskSettings(atr_period=atr_period),
            live=LiveSettings(retrain_weekdays=(), history_days=10, panel_rows=panel_rows),
        )
        db = make_engine(settings.db_url)
        init_db(db)
        start = datetime.combine(live_days[0], datetime.min.time(), NEW_YORK).replace(hour=6)
        state: dict[str, Any] = {"day": None, "snap": None}

        def report(orch: LiveOrchestrator) -> None:
            gc.collect()
            engine = orch.engine
            assert engine is not None
            snap = tracemalloc.take_snapshot()
            row: dict[str, Any] = {
                "session_ended": str(state["day"]),
                "panel_rows": len(engine.panel),
                "first_kept_cycle": engine.base,
                **rss_split_mb(),
                **malloc_mb(),
                "python_traced_mb": tracemalloc.get_traced_memory()[0] / 2**20,
                "arrow_pool_mb": pa.default_memory_pool().bytes_allocated() / 2**20,
                "panel_mb": held_mb(
                    getattr(engine.panel.prices, f) for f in ("open", "high", "low", "close", "volume")
                ),
                "features_mb": held_mb(engine.features.values()),
            }
            if state["snap"] is not None:
                row["python_growth_top"] = [
                    f"{s.traceback[0].filename.split('site-packages/')[-1].split('/src/')[-1]}:"
                    f"{s.traceback[0].lineno} {s.size_diff / 2**10:+.0f} KiB"
                    for s in snap.compare_to(state["snap"], "lineno")[:10]
                ]
            state["snap"] = snap
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "python_growth_top"}), flush=True)

        holder: dict[str, LiveOrchestrator] = {}

        def on_cycle(outcome: CycleOutcome) -> None:
            day = session_date(outcome.ts)
            if state["day"] is not None and day != state["day"]:
                report(holder["orch"])
            state["day"] = day

        tickers = tuple(sorted(bars["symbol"].unique()))
        orch = LiveOrchestrator(
            settings,
            LiveRequest(tickers, interval, run_id="memory", days=len(live_days)),
            feed=soak.FaultyFeed(bars, interval_minutes(interval)),
            clock=SimClock(start),
            lake=Lake(settings.lake_dir),
            repo=RunRepository(db),
            on_cycle=on_cycle,
        )
        holder["orch"] = orch
        tracemalloc.start(1)
        orch.run()
        report(orch)
        tracemalloc.stop()
    return rows


def main() -> None:
    """Parse, measure, print and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=7)
    parser.add_argument("--interval", default="5m")
    parser.add_argument("--panel-rows", default="0", help="live.panel_rows: 0 (bounded, automatic), N, or none")
    parser.add_argument(
        "--atr-period",
        type=int,
        default=14,
        help="the stops' ATR period: its 50-period tail is the longest look-back (14: 700 rows; 2: the construction "
        "window's 121 rows, so the panel drops rows within a few sessions)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "live_memory.json")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    panel_rows = None if args.panel_rows.lower() == "none" else int(args.panel_rows)
    rows = measure(args.symbols, args.sessions, args.interval, panel_rows, args.atr_period)
    second, last = rows[1], rows[-1]  # from the second session: the tear sheet's imports come with the first report
    growth = {
        k: round(last[k] - second[k], 2)
        for k in (
            "vmrss_mb",
            "rssanon_mb",
            "rssfile_mb",
            "malloc_held_mb",
            "python_traced_mb",
            "panel_mb",
            "features_mb",
        )
        if k in last and k in second
    }
    peak = {
        k: round(max(r[k] for r in rows[1:]) - second[k], 2)
        for k in ("vmrss_mb", "python_traced_mb", "panel_mb", "features_mb")
        if all(k in r for r in rows[1:])
    }
    result = {
        "symbols": args.symbols,
        "sessions": args.sessions,
        "interval": args.interval,
        "panel_rows_setting": panel_rows,
        "atr_period": args.atr_period,
        "growth_from_second_to_last_session_mb": growth,
        "peak_over_second_session_mb": peak,
        "by_session": rows,
    }
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"growth": growth, "peak": peak}))


if __name__ == "__main__":
    main()
