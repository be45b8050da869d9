"""`python -m papertrader.data.loopback BARS INTERVAL`: serve a bar file on 127.0.0.1 for a drill of your own.

BARS is a CSV or Parquet file in the lake's columns (symbol, ts = bar start, open, high, low, close, volume).
The vendor answers as of the wall clock, or (``--posted-time``) as of the time a driver posts to
``POST /control``; it prints its URL and the settings that point papertrader's clients at it, then serves
until interrupted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from papertrader.core.clock import WallClock
from papertrader.data.loopback.server import LoopbackVendor, serve_forever


def main() -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m papertrader.data.loopback", description=__doc__)
    parser.add_argument("bars", type=Path, help="CSV or Parquet bars in lake columns")
    parser.add_argument("interval", help="the bars' interval: 1m, 5m, 15m, 30m or 1h")
    parser.add_argument("--posted-time", action="store_true", help="answer as of the time posted to /control")
    args = parser.parse_args()
    bars = pd.read_parquet(args.bars) if args.bars.suffix == ".parquet" else pd.read_csv(args.bars)
    vendor = LoopbackVendor(bars, args.interval, clock=None if args.posted_time else WallClock())

    def announce(url: str) -> None:
        print(url, flush=True)
        for name, value in vendor.env().items():
            print(f"{name}={value}", flush=True)

    serve_forever(vendor, announce)


if __name__ == "__main__":
    main()
