"""`data poll --mode bar` stores bars on the lake's append path: a poll's cost does not depend on the history.

Real SPY 1-minute trades (January 2011, shared/data) are the vendor: each poll answers with its whole lookback,
as Yahoo and Questrade do, and the poller must write only the closed bars the lake lacks, as delta files, never
rewriting the partition's base.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from papertrader.core.clock import SimClock
from papertrader.data import store
from papertrader.data.deltas import file_stamp
from papertrader.data.polling import LivePoller, fixed_rate_cadence
from papertrader.data.router import Router
from papertrader.data.store import Lake
from support import SHARED

MINUTES = SHARED / "equity-us" / "1m" / "SPY-trade-2011.csv.gz"


@pytest.fixture(scope="module")
def spy() -> pd.DataFrame:
    if not MINUTES.exists():
        pytest.skip(f"shared data not available: {MINUTES}")
    df = pd.read_csv(MINUTES)
    return pd.DataFrame(
        {
            "symbol": "SPY",
            "ts": pd.to_datetime(df["timestamp"], utc=True),
            **{c: df[c].astype(float) for c in ("open", "high", "low", "close", "volume")},
        }
    )


class Recorded:
    """A vendor over recorded minute bars: every bar that started within the lookback, the forming one included."""

    name = "recorded"

    def __init__(self, bars: pd.DataFrame, clock: SimClock) -> None:
        self.bars = bars
        self.clock = clock

    def fetch_bars(self, symbol: str, interval: str, start: datetime, end: datetime) -> pd.DataFrame:
        now = pd.Timestamp(self.clock.now())
        keep = (self.bars["ts"] >= pd.Timestamp(start)) & (self.bars["ts"] < min(pd.Timestamp(end), now))
        return self.bars.loc[keep].reset_index(drop=True)


def _poll_after(history: int, spy: pd.DataFrame, home: Path) -> tuple[list[int], Lake, int, SimClock]:
    """Store `history` bars, then poll 5 sweeps a minute apart; rows written per sweep, the lake, and the split."""
    lake = Lake(home / "lake")
    lake.write_bars(spy.iloc[:history], "1m", "history")
    clock = SimClock(spy["ts"].iloc[history + 3].to_pydatetime() + timedelta(seconds=20))  # inside a bar
    lake = Lake(home / "lake", clock=clock)
    poller = LivePoller(
        Router([Recorded(spy, clock)], clock=clock),
        ["SPY"],
        fixed_rate_cadence(1, 1.0, "test"),
        clock=clock,
        mode="bar",
        interval="1m",
        lookback=timedelta(hours=6),
        lake=lake,
    )
    written: list[int] = []
    log: list[int] = []
    real_write = store._atomic_write

    def counting(frame: pd.DataFrame, path: Path) -> None:
        real_write(frame, path)
        log.append(len(frame))

    store._atomic_write = counting  # type: ignore[assignment]
    try:
        for _ in range(5):
            log.clear()
            poller.sweep()
            written.append(sum(log))
            clock.sleep(60)
    finally:
        store._atomic_write = real_write  # type: ignore[assignment]
    return written, lake, history, clock


def test_a_bar_poll_appends_only_the_new_closed_bars_whatever_the_history(spy: pd.DataFrame, tmp_path: Path) -> None:
    short, _, _, _ = _poll_after(500, spy, tmp_path / "500")
    long, lake, history, clock = _poll_after(5_000, spy, tmp_path / "5000")
    assert short == long, "rows written per poll do not depend on the stored history"
    assert long[0] > 0 and max(long[1:]) <= 2, "after the first poll, only the bar that closed since is written"
    stored = lake.read_partition("SPY", "1m")
    closed = spy[spy["ts"] + pd.Timedelta(minutes=1) <= pd.Timestamp(clock.now() - timedelta(minutes=1))]
    assert list(stored["ts"]) == list(closed["ts"]), "every closed bar stored once, the forming one never"
    assert (stored.iloc[history:]["source"] == "recorded").all()


def test_a_bar_poll_never_rewrites_the_partition_base(spy: pd.DataFrame, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.write_bars(spy.iloc[:2_000], "1m", "history")
    base = lake.bars_path("SPY", "1m")
    before = file_stamp(base)
    _poll_after_existing(spy, tmp_path)
    assert file_stamp(base) == before, "the poll appended delta files; data.parquet was not rewritten"


def _poll_after_existing(spy: pd.DataFrame, home: Path) -> None:
    clock = SimClock(spy["ts"].iloc[2_010].to_pydatetime() + timedelta(seconds=5))
    lake = Lake(home / "lake", clock=clock)
    poller = LivePoller(
        Router([Recorded(spy, clock)], clock=clock),
        ["SPY"],
        fixed_rate_cadence(1, 1.0, "test"),
        clock=clock,
        mode="bar",
        lookback=timedelta(days=5),
        lake=lake,
    )
    for _ in range(3):
        poller.sweep()
        clock.sleep(60)
