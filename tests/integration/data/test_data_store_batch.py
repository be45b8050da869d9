"""The live append of one bar for many symbols: one delta per symbol, written with a fixed number of durability
barriers (not two fsyncs per symbol), the same stored rows as the per-symbol merge, and crash safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from papertrader.core.clock import SimClock
from papertrader.data import store
from papertrader.data.deltas import parse_delta
from papertrader.data.store import Lake
from support import load_shared_daily

T0 = datetime(2024, 1, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def spy() -> pd.DataFrame:
    """Real daily SPY bars, by position."""
    return load_shared_daily("SPY").reset_index(drop=True)


def universe(spy: pd.DataFrame, symbols: int, lo: int, hi: int) -> pd.DataFrame:
    """Real SPY bars at positions [lo, hi) tiled onto `symbols` tickers (ticker j: prices x (1 + j/100))."""
    frames = []
    for j in range(symbols):
        part = spy.iloc[lo:hi].assign(symbol=f"S{j:03d}")
        for col in ("open", "high", "low", "close"):
            part[col] = part[col] * (1 + j / 100)
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def barriers_per_bar(spy: pd.DataFrame, root: Path, symbols: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Durability barriers (``_sync_all`` calls) of each of 3 single-bar appends of `symbols` tickers."""
    lake = Lake(root, clock=SimClock(T0))
    lake.write_bars(universe(spy, symbols, 0, 100), "1d", "import")
    calls: list[int] = []
    real_sync = store._sync_all

    def counting(paths: Any) -> None:
        calls.append(len(paths))
        real_sync(paths)

    monkeypatch.setattr(store, "_sync_all", counting)
    out = []
    for i in range(100, 103):
        calls.clear()
        lake.write_bars(universe(spy, symbols, i, i + 1), "1d", "live", fetched_at=T0, append=True)
        out.append(len(calls))
    monkeypatch.undo()
    return out


def test_a_bar_of_many_symbols_takes_the_same_two_barriers_as_a_bar_of_few(
    spy: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    few = barriers_per_bar(spy, tmp_path / "few", 3, monkeypatch)
    many = barriers_per_bar(spy, tmp_path / "many", 40, monkeypatch)
    assert few == many == [2, 2, 2]  # the temporary files' data, then the renames


def test_a_batched_append_stores_what_the_per_symbol_merge_stores(spy: pd.DataFrame, tmp_path: Path) -> None:
    appended = Lake(tmp_path / "append", clock=SimClock(T0))
    merged = Lake(tmp_path / "merge", clock=SimClock(T0))
    for lake in (appended, merged):
        lake.write_bars(universe(spy, 12, 0, 100), "1d", "import")
    for i in range(100, 120):
        bar = universe(spy, 12, i, i + 1).iloc[:: 1 + i % 2]  # every other bar misses half the symbols
        a = appended.write_bars(bar, "1d", "live", fetched_at=T0, append=True)
        b = merged.write_bars(bar, "1d", "live", fetched_at=T0)
        assert a == b
        appended.tidy()
    for kwargs in ({}, {"adjusted": False}, {"with_factor": True}):
        pd.testing.assert_frame_equal(appended.read_bars(None, "1d", **kwargs), merged.read_bars(None, "1d", **kwargs))
    for j in (0, 5, 11):
        pd.testing.assert_frame_equal(
            appended.read_partition(f"S{j:03d}", "1d"), merged.read_partition(f"S{j:03d}", "1d")
        )


CHILD = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
import pandas as pd
from papertrader.core.clock import SimClock
from papertrader.data import store
from papertrader.data.deltas import parse_delta

root, bars, kill_at = Path(sys.argv[1]), pd.read_parquet(sys.argv[2]), int(sys.argv[3])
lake = store.Lake(root, clock=SimClock(datetime(2024, 1, 2, tzinfo=UTC)))
real_replace = os.replace
renames = []

def replace(src, dst):
    if parse_delta(Path(dst)) is not None:
        if len(renames) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # every temporary file written and synced, `kill_at` renamed
        renames.append(dst)
    real_replace(src, dst)

store.os.replace = replace
lake.write_bars(bars, "1d", "live", append=True)
"""


@pytest.mark.parametrize("renamed", [0, 2])
def test_a_writer_killed_inside_a_batch_leaves_each_symbol_with_its_old_rows_or_the_new_bar(
    spy: pd.DataFrame, tmp_path: Path, renamed: int
) -> None:
    lake = Lake(tmp_path / "lake", clock=SimClock(T0))
    lake.write_bars(universe(spy, 5, 0, 100), "1d", "import")
    bar = universe(spy, 5, 100, 101)
    source = tmp_path / "bar.parquet"
    bar.to_parquet(source)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(lake.root), str(source), str(renamed)],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    lengths = [len(lake.read_partition(f"S{j:03d}", "1d")) for j in range(5)]
    assert lengths == [101] * renamed + [100] * (5 - renamed)  # symbols are written in order
    # The next append goes on from the stored state and clears the dead writer's temporary files.
    lake.write_bars(bar, "1d", "live", append=True)
    lake.write_bars(universe(spy, 5, 101, 102), "1d", "live", append=True)
    assert lake.status()["rows"].tolist() == [102] * 5
    assert [p for p in lake.root.rglob("*.tmp") if parse_delta(p) is None and p.name.startswith(".")] == []
    pd.testing.assert_frame_equal(
        lake.read_bars(None, "1d", adjusted=False),
        universe(spy, 5, 0, 102).sort_values(["ts", "symbol"]).reset_index(drop=True),
    )
