"""CPU per live bar against the length of the history: the live loop on real hourly bars (AAPL, IBM, SPY) with
686 and 5,673 rows of history, with the bounded live panel (`live.panel_rows = 0`) and keeping every bar (None).

Each sample is the process CPU time between two consecutive cycles of a session (after its first two bars): the
feed, quality check, lake write, panel append, streamed features, `Engine.extend` and the cycle itself. CPU time,
not wall time, so a loaded machine changes it less; the issue's target is the bounded run within 20% at 5,000 rows
of what it is at 500. The deterministic form of this check is tests/integration/engine/test_live_bounded.py.

Run: `.venv/bin/python benchmarks/live_history_cost.py` (reads ../shared/data). Writes
benchmarks/results/live_history_cost.json.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data" / "equity-us" / "1h"
RESULTS = HERE / "results"
SYMBOLS = ("AAPL", "IBM", "SPY")
LIVE_FROM = date(2019, 5, 23)
NEW_YORK = "America/New_York"


def hourly(start: str, end: str) -> pd.DataFrame:
    """Real hourly bars of SYMBOLS between two New York dates, in lake format."""
    frames = []
    for symbol in SYMBOLS:
        df = pd.read_csv(SHARED / f"{symbol}.csv.gz")
        ts = pd.to_datetime(df["timestamp"], utc=True)
        keep = (ts >= pd.Timestamp(start, tz=NEW_YORK)) & (ts < pd.Timestamp(end, tz=NEW_YORK))
        fields = {c: df.loc[keep, c].astype(float) for c in ("open", "high", "low", "close", "volume")}
        frames.append(pd.DataFrame({"symbol": symbol, "ts": ts[keep], **fields}))
    return pd.concat(frames, ignore_index=True)


def measure(history_from: str, panel_rows: int | None, days: int = 4) -> dict[str, Any]:
    """One live run of `days` sessions; CPU per bar and the panel's size."""
    from papertrader.config.live import LiveSettings
    from papertrader.config.settings import RiskSettings, Settings, StrategySettings
    from papertrader.core.clock import SimClock
    from papertrader.data.store import Lake
    from papertrader.domain.sessions import NEW_YORK as ZONE
    from papertrader.engine.cycle import CycleOutcome
    from papertrader.engine.feed import RecordedFeed
    from papertrader.engine.orchestrator import LiveOrchestrator, LiveRequest
    from papertrader.persistence.db import init_db, make_engine
    from papertrader.persistence.repository import RunRepository

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        Lake(home / "lake").write_bars(hourly(history_from, LIVE_FROM.isoformat()), "1h", "shared")
        settings = Settings(
            home=home,
            strategy=StrategySettings(fast=5, slow=20),
            risk=RiskSettings(atr_period=2),
            live=LiveSettings(retrain_weekdays=(), history_days=4_000, panel_rows=panel_rows),
        )
        db = make_engine(settings.db_url)
        init_db(db)
        samples: list[float] = []
        last: list[float | None] = [None]

        def on_cycle(outcome: CycleOutcome) -> None:
            now = time.process_time()
            if last[0] is not None and outcome.ts.astimezone(ZONE).hour > 10:
                samples.append(now - last[0])
            last[0] = now

        orch = LiveOrchestrator(
            settings,
            LiveRequest(SYMBOLS, "1h", run_id="cost", days=days),
            feed=RecordedFeed(hourly(LIVE_FROM.isoformat(), "2019-06-05")),
            clock=SimClock(datetime(LIVE_FROM.year, LIVE_FROM.month, LIVE_FROM.day, 6, tzinfo=ZONE)),
            lake=Lake(settings.lake_dir),
            repo=RunRepository(db),
            on_cycle=on_cycle,
        )
        orch.run()
        engine = orch.engine
        assert engine is not None
        samples.sort()
        return {
            "history_rows": engine.end - orch.result.cycles,
            "panel_rows_setting": panel_rows,
            "panel_rows_at_end": len(engine.panel),
            "bars": len(samples),
            "cpu_ms_p50": round(1000 * samples[len(samples) // 2], 2),
            "cpu_ms_mean": round(1000 * sum(samples) / len(samples), 2),
        }


def main() -> None:
    """Measure both histories, bounded and not; print and write the JSON."""
    logging.disable(logging.WARNING)
    rows = [measure(h, p) for h in ("2019-01-02", "2016-03-01") for p in (0, None)]
    for row in rows:
        print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "live_history_cost.json").write_text(json.dumps({"runs": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
