"""The array core at 200 symbols: the cycle loop's symbol-bars/s and memory per bar, this tree beside a baseline.

Input: 200 symbols x 2,000 daily bars (400,000 symbol-bars) cut from the chained real path of bench_data, the
rules of universe.py (SMA 20/50 crossover at 1/200 of equity per symbol, next-open market orders through the
full order lifecycle: submit, accept, fill, Decimal ledger, events). Only `Engine.run` is timed (panel and
features are built before), in CPU seconds of the process (the box is shared): the first run in the process
(session lookups cold, as in any single backtest) and the best of --repeat warm runs after it. Memory, in
a separate untimed pass under tracemalloc, per symbol-bar: the peak of the loop alone, and the peak and what is
kept (panel, features, engine, outcomes) of the whole pipeline from the long bars on.

The baseline is the same file run on another commit's `src/` (`--baseline REF`, extracted with git archive),
in its own process, so both sides see the same input and the same loaded box; the fills and the final
Decimal equity must agree exactly or the script fails.

Beside the loop, in the same process: the vectorised pandas alternative on the same bars (the crossover with
next-open fills and costs, no order book and no ledger: the lower bound of any engine), and the broker's
market-order step alone, per order, at 4, 50 and 200 orders in one bar: the columnar lane the engine submits to
(`PaperBroker.submit_market`, records and no Order objects, nobody reading transitions), the int64 array step on
submitted Orders, and the per-order Decimal path of the same broker (`PaperBroker.vectorised = False`; a tree
without the lane or the array step reports what it has).

Run: `.venv/bin/python benchmarks/array_core.py [--symbols 200 --bars 2000 --baseline REF]`; writes
benchmarks/results/array_core.json (symbols, cycles, symbol_bars_per_s, fills, the pandas alternative's
symbol-bars/s and the broker step). Reads ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]


def vectorised_pandas(bars: Any) -> float:
    """CPU seconds of a pandas-only crossover with next-open fills and costs (no order book, no ledger)."""
    import numpy as np

    start = time.process_time()
    for _, g in bars.groupby("symbol"):
        close, open_ = g["close"], g["open"]
        want = (close.rolling(20).mean() > close.rolling(50).mean()).astype(float)
        held = want.shift(1).fillna(0.0)
        rets = (open_.shift(-1) / open_ - 1.0).fillna(0.0) * held - held.diff().abs().fillna(0.0) * 1e-4
        np.cumprod(1 + rets.to_numpy())
    return time.process_time() - start


def broker_step(repeat: int) -> dict[str, dict[str, float]]:
    """Microseconds of CPU per order for one bar's market orders, array step and per-order path, by book size."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    import numpy as np

    from papertrader.config.settings import CostSettings
    from papertrader.domain.types import Order, OrderType, Side
    from papertrader.execution.broker import BarSlice, BrokerReport, PaperBroker

    symbols = [f"S{i:03d}" for i in range(200)]
    created = datetime(2020, 1, 6, 21, 0, tzinfo=UTC)  # a Monday's close: the orders fill at Tuesday's open
    at = created + timedelta(hours=17, minutes=30)
    opens = np.round(np.linspace(20.0, 220.0, len(symbols)), 2)
    bar = BarSlice(1, at, at + timedelta(hours=6.5), opens, opens * 1.01, opens * 0.99, opens, np.full(200, 1e7))
    out: dict[str, dict[str, float]] = {}
    for n in (4, 50, 200):
        row: dict[str, float] = {}
        for label, vectorised in (
            ("lane_us_per_order", True),
            ("array_us_per_order", True),
            ("per_order_us_per_order", False),
        ):
            lane = label.startswith("lane")
            if (vectorised and not hasattr(PaperBroker, "_vector_terms")) or (
                lane and not hasattr(PaperBroker, "submit_market")
            ):
                continue
            best = float("inf")
            for _ in range(max(repeat, 1) * 5):
                broker = PaperBroker(symbols, CostSettings())
                broker.vectorised = vectorised
                report = BrokerReport(transitions=not lane)
                for j in range(n):
                    side = Side.BUY if j % 2 else Side.SELL
                    if lane:  # the engine's way: a record in the columnar lane, no Order unless read
                        broker.submit_market(f"o{j}", symbols[j], side, 100, created, "", report)
                        continue
                    broker.submit(Order(f"o{j}", symbols[j], side, 100, OrderType.MARKET, created), created, report)
                start = time.process_time()
                broker.on_bars(bar, Decimal("100000000.0"), report)
                best = min(best, time.process_time() - start)
            row[label] = best / n * 1e6
        out[str(n)] = row
    return out


def worker(n_symbols: int, bars_each: int, repeat: int) -> dict[str, Any]:
    """Time and measure the engine of whatever `papertrader` is importable (this tree or the baseline)."""
    import bench_data
    from engine_vs_libraries import crossover_settings

    import papertrader
    from papertrader.core.clock import SimClock
    from papertrader.core.events import EventBus
    from papertrader.engine.cycle import Engine
    from papertrader.engine.panel import Panel
    from papertrader.features.technical import TechnicalSpec, compute_technical
    from papertrader.signals.trend import TrendFollowing

    logging.disable(logging.WARNING)
    bars = bench_data.universe_bars(n_symbols, bars_each)
    settings = crossover_settings()
    settings = settings.model_copy(
        update={"risk": settings.risk.model_copy(update={"max_position_fraction": 1.0 / n_symbols})}
    )
    panel = Panel.from_long(bars, "1d")
    features = compute_technical(panel.prices, TechnicalSpec(sma=(20, 50)))

    def engine() -> Engine:
        return Engine(
            run_id="bench",
            panel=panel,
            features=features,
            strategy=TrendFollowing(n_symbols),
            settings=settings,
            clock=SimClock(panel.bar(0).open_time),
            bus=EventBus(),
        )

    from papertrader.domain.calendars import calendar

    calendar("XNYS")  # the exchange_calendars object is built once per process by both trees
    symbol_bars = n_symbols * len(panel)
    e = engine()
    start = time.process_time()
    e.run()  # a run's first pass: per-day session lookups start cold, as in any single backtest
    first = time.process_time() - start
    best = float("inf")
    for _ in range(repeat):
        e = engine()
        start = time.process_time()
        outcomes = e.run()
        best = min(best, time.process_time() - start)
    e = engine()
    tracemalloc.start()
    e.run()
    _, loop_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del e, panel, features
    tracemalloc.start()
    panel = Panel.from_long(bars, "1d")
    features = compute_technical(panel.prices, TechnicalSpec(sma=(20, 50)))
    kept = engine().run()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    pandas_s = min(vectorised_pandas(bars) for _ in range(max(repeat, 1)))
    return {
        "source": str(Path(papertrader.__file__).parents[1]),
        "symbols": n_symbols,
        "cycles": len(panel),
        "symbol_bars": symbol_bars,
        "first_run_s": first,
        "first_run_symbol_bars_per_s": symbol_bars / first,
        "loop_s": best,
        "symbol_bars_per_s": symbol_bars / best,
        "cycles_per_s": len(panel) / best,
        "fills": sum(len(o.fills) for o in outcomes),
        "final_equity": str(outcomes[-1].valuation.equity),
        "loop_peak_bytes_per_symbol_bar": loop_peak / symbol_bars,
        "pipeline_kept_bytes_per_symbol_bar": current / symbol_bars,
        "pipeline_peak_bytes_per_symbol_bar": peak / symbol_bars,
        "vectorised_pandas_symbol_bars_per_s": symbol_bars / pandas_s,
        "broker_step": broker_step(repeat),
    }


def _run(src: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), str(Path(__file__).parent)]))
    cmd = [sys.executable, __file__, "--worker", "--symbols", str(args.symbols), "--bars", str(args.bars)]
    cmd += ["--repeat", str(args.repeat)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    """Run baseline and this tree, check they agree, print and write benchmarks/results/array_core.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--bars", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", default="", help="git ref whose src/ is the 'before' (none: skip)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.symbols, args.bars, args.repeat)))
        return
    import bench_data

    if not bench_data.available():
        sys.exit("shared data not found: this benchmark builds its input from ../shared/data")
    rows: dict[str, Any] = {"input": f"{args.symbols} symbols x {args.bars} daily bars cut from: {bench_data.HOW}"}
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.baseline, "src"], check=True, capture_output=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            rows["before"] = _run(Path(tmp) / "src", args)
            rows["before"]["ref"] = args.baseline
    rows["after"] = _run(ROOT / "src", args)
    if "before" in rows:
        b, a = rows["before"], rows["after"]
        if (b["fills"], b["final_equity"]) != (a["fills"], a["final_equity"]):
            sys.exit(
                f"results differ: before {b['fills']} fills {b['final_equity']}, after {a['fills']} {a['final_equity']}"
            )
        rows["speedup_warm"] = a["symbol_bars_per_s"] / b["symbol_bars_per_s"]
        rows["speedup_first_run"] = a["first_run_symbol_bars_per_s"] / b["first_run_symbol_bars_per_s"]
    for side in ("before", "after"):
        if side in rows:
            r = rows[side]
            print(
                f"{side:6s} symbol-bars/s: first run {r['first_run_symbol_bars_per_s']:>10,.0f}  "
                f"warm {r['symbol_bars_per_s']:>10,.0f}  ({r['cycles_per_s']:,.0f} cycles/s)  "
                f"{r['fills']} fills  equity {r['final_equity']}  loop peak {r['loop_peak_bytes_per_symbol_bar']:.0f} "
                f"B/bar  pipeline kept {r['pipeline_kept_bytes_per_symbol_bar']:.0f} "
                f"peak {r['pipeline_peak_bytes_per_symbol_bar']:.0f} B/bar  "
                f"pandas alternative {r['vectorised_pandas_symbol_bars_per_s']:,.0f} symbol-bars/s"
            )
            for n, step in r["broker_step"].items():
                print(
                    f"       broker step, {n:>3s} orders in a bar: "
                    + "  ".join(f"{k} {v:.1f}" for k, v in step.items())
                )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "array_core.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
