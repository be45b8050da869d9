"""Start a paced replay with the API attached, exactly as `papertrader paper --replay` does when cli.py uses attach_api.

The browser test runs this when the installed CLI does not (yet) start the API itself.
Usage: python tests/e2e/replay_with_api.py --speed 864000 [--start 2005-01-01] [--symbols AAPL,MSFT]
"""

from __future__ import annotations

import argparse
from datetime import datetime
from zoneinfo import ZoneInfo

from papertrader.cli_api import attach_api
from papertrader.config.settings import load_settings
from papertrader.engine.control import RunControl
from papertrader.engine.runner import RunRequest, run


def main() -> None:
    """Parse the CLI-like options and run the replay until it ends or is stopped through the API."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--speed", type=float, default=0.0)
    parser.add_argument("--start", default=None)
    parser.add_argument("--symbols", default="")
    parser.add_argument("--run-id", default=None)
    args = parser.parse_args()
    start = datetime.fromisoformat(args.start).replace(tzinfo=ZoneInfo("America/New_York")) if args.start else None
    settings = load_settings()
    control = RunControl(speed=args.speed)
    request = RunRequest(
        symbols=tuple(s for s in args.symbols.split(",") if s),
        start=start,
        mode="replay",
        speed=args.speed,
        run_id=args.run_id,
    )
    attach = attach_api(settings, control, echo=lambda text: print(text, flush=True))
    result = run(settings, request, control=control, on_engine=attach)
    print(f"replay {result.run_id} finished", flush=True)
    attach.stop()


if __name__ == "__main__":
    main()
