"""Engine throughput on real hourly bars: the event-ordered cycle loop beside a pure vectorised pass.

Run: `make bench` (or `.venv/bin/python benchmarks/engine_throughput.py`). Reads ../shared/data; the
vectorised pass is the lower bound of what any engine can do, the loop is what papertrader runs.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from papertrader.config.settings import RiskSettings, Settings
from papertrader.core.clock import SimClock
from papertrader.core.events import EventBus
from papertrader.engine.cycle import Engine
from papertrader.engine.panel import Panel
from papertrader.features.technical import TechnicalSpec, compute_technical
from papertrader.signals.trend import TrendFollowing

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "equity-us" / "1h"
SYMBOLS = ("SPY", "AAPL", "IBM", "BAC", "AIG")


def load(symbols: tuple[str, ...]) -> pd.DataFrame:
    """Real hourly bars, long format, UTC stamps."""
    frames = []
    for s in symbols:
        df = pd.read_csv(SHARED / f"{s}.csv.gz")
        df["ts"] = pd.to_datetime(df["timestamp"], utc=True)
        frames.append(df.drop(columns="timestamp"))
    return pd.concat(frames, ignore_index=True)


def engine_run(bars: pd.DataFrame) -> tuple[float, int]:
    """Seconds for features plus the full cycle loop (no database), and the fill count."""
    settings = Settings(risk=RiskSettings(max_position_fraction=1.0))
    start = time.perf_counter()
    panel = Panel.from_long(bars, "1h")
    features = compute_technical(panel.prices, TechnicalSpec(sma=(20, 50)))
    engine = Engine(
        run_id="bench",
        panel=panel,
        features=features,
        strategy=TrendFollowing(len(panel.symbols)),
        settings=settings,
        clock=SimClock(panel.bar(0).open_time),
        bus=EventBus(),
    )
    outcomes = engine.run()
    return time.perf_counter() - start, sum(len(o.fills) for o in outcomes)


def vectorised_run(bars: pd.DataFrame) -> float:
    """Seconds for a pandas-only crossover with next-open fills and costs (no order book, no ledger)."""
    start = time.perf_counter()
    for _, g in bars.groupby("symbol"):
        close, open_ = g["close"], g["open"]
        want = (close.rolling(20).mean() > close.rolling(50).mean()).astype(float)
        held = want.shift(1).fillna(0.0)
        rets = (open_.shift(-1) / open_ - 1.0).fillna(0.0) * held - held.diff().abs().fillna(0.0) * 6e-4
        np.cumprod(1 + rets.to_numpy())
    return time.perf_counter() - start


def main() -> None:
    """Print the table and write benchmarks/results/engine_throughput.json."""
    if not SHARED.exists():
        sys.exit(f"shared data not found at {SHARED}")
    rows = []
    for symbols in (SYMBOLS[:1], SYMBOLS):
        bars = load(symbols)
        seconds, fills = engine_run(bars)
        vec = vectorised_run(bars)
        rows.append(
            {
                "universe": ",".join(symbols),
                "bars": len(bars),
                "engine_s": seconds,
                "engine_bars_per_s": len(bars) / seconds,
                "fills": fills,
                "vectorised_s": vec,
                "vectorised_bars_per_s": len(bars) / vec,
            }
        )
    table = Table(title="engine throughput, real 1h bars 1998-2021 (features + full cycle loop, no database)")
    for col in ("universe", "bars", "engine bars/s", "fills", "vectorised bars/s", "engine / vectorised"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            r["universe"],
            f"{r['bars']:,}",
            f"{r['engine_bars_per_s']:,.0f}",
            str(r["fills"]),
            f"{r['vectorised_bars_per_s']:,.0f}",
            f"{r['engine_s'] / r['vectorised_s']:.1f}x slower",
        )
    Console().print(table)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "engine_throughput.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
