"""Fill-model calibration against REAL bid/ask minute bars (SPY, IBM, BAC, AIG, 2013-10-04..11).

Run: `.venv/bin/python benchmarks/fill_calibration.py [--json FILE]`. Reads ../shared/data/equity-us/1m;
writes benchmarks/results/fill_calibration.json unless --json says otherwise. See
papertrader.execution.calibration for what each number means.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from papertrader.config.settings import CostSettings
from papertrader.execution.calibration import TRAILING_BARS, SymbolCalibration, calibrate_symbol

MINUTES = Path(__file__).resolve().parents[2] / "shared" / "data" / "equity-us" / "1m"
SYMBOLS = ("SPY", "IBM", "BAC", "AIG")


def run(symbols: tuple[str, ...] = SYMBOLS) -> list[SymbolCalibration]:
    """Calibrate every symbol whose trade and quote files are present."""
    results = []
    for symbol in symbols:
        trades = pd.read_csv(MINUTES / f"{symbol}-trade-2013-10.csv.gz")
        quotes = pd.read_csv(MINUTES / f"{symbol}-quote-2013-10.csv.gz")
        results.append(calibrate_symbol(symbol, trades, quotes, CostSettings()))
    return results


def main() -> None:
    """Print the spread and cost tables and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "fill_calibration.json")
    args = parser.parse_args()
    if not MINUTES.exists():
        sys.exit(f"shared data not found at {MINUTES}")
    results = run()
    console = Console()
    spreads = Table(
        title="quoted spread vs high-low estimate on 1-minute trade bars (bps of mid), regular session",
        caption=f"estimate = Abdi-Ranaldo per session with a one-tick floor; CS = Corwin-Schultz; "
        f"trail = median of {TRAILING_BARS}-bar trailing estimates (what the broker uses)",
    )
    for col in ("symbol", "real med", "real mean", "estimate", "err bps", "err %", "AR raw", "CS", "trail"):
        spreads.add_column(col, justify="right")
    for r in results:
        spreads.add_row(
            r.symbol,
            f"{r.real_spread_median_bps:.2f}",
            f"{r.real_spread_mean_bps:.2f}",
            f"{r.est_spread_bps:.2f}",
            f"{r.est_error_bps:+.2f}",
            f"{r.est_error_pct:+.0f}%",
            f"{r.est_raw_abdi_ranaldo_bps:.2f}",
            f"{r.est_corwin_schultz_bps:.2f}",
            f"{r.est_trailing_median_bps:.2f}",
        )
    console.print(spreads)
    costs = Table(
        title="market order at the next minute's open: cost vs the quote mid (bps), buys and sells pooled",
        caption="; ".join(f"{m.name}: {m.description}" for m in results[0].models) if results else None,
    )
    for col in ("symbol", "model", "fills", "real ask/bid", "model", "error", "mean |err|"):
        costs.add_column(col, justify="right")
    for r in results:
        for m in r.models:
            costs.add_row(
                r.symbol,
                m.name,
                str(m.fills),
                f"{m.real_cost_bps:.2f}",
                f"{m.model_cost_bps:.2f}",
                f"{m.error_bps:+.2f}",
                f"{m.mae_bps:.2f}",
            )
    console.print(costs)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "data": "shared/data/equity-us/1m/*-{trade,quote}-2013-10.csv.gz, regular session 09:30-16:00 ET",
        "costs": CostSettings().model_dump(mode="json"),
        "symbols": [r.to_dict() for r in results],
    }
    args.json.write_text(json.dumps(payload, indent=2))
    console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
