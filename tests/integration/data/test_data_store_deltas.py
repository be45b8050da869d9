"""Live appends as delta files on real bars: same reads as the merge-and-rewrite path, O(new rows), crash safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papertrader.core.clock import SimClock
from papertrader.data import store
from papertrader.data.deltas import FANOUT, parse_delta
from papertrader.data.store import ADJ_FACTOR, Lake, WriteReport
from support import load_shared_daily

T0 = datetime(2024, 1, 2, tzinfo=UTC)
SYMBOLS = ("SPY", "IBM")


@pytest.fixture(scope="module")
def real() -> dict[str, pd.DataFrame]:
    """Real daily bars of two symbols (1998 onwards), by position."""
    return {s: load_shared_daily(s).reset_index(drop=True) for s in SYMBOLS}


def delta_files(lake: Lake, symbol: str = "SPY") -> list[str]:
    """The delta file names beside a partition's base."""
    return sorted(p.name for p in lake.bars_path(symbol, "1d").parent.iterdir() if parse_delta(p) is not None)


@dataclass
class Twin:
    """The same writes on two lakes: ``new`` appends as deltas and compacts; ``old`` only merges and rewrites."""

    new: Lake
    old: Lake
    clock: SimClock

    def write(self, frame: pd.DataFrame, *, fetched: bool = False, tidy: bool = True) -> None:
        """One write on both lakes (an append on the new one); their reports must agree."""
        fetched_at = self.clock.now() - timedelta(seconds=5) if fetched else None
        a = self.new.write_bars(frame, "1d", "live", fetched_at=fetched_at, append=True)
        b = self.old.write_bars(frame, "1d", "live", fetched_at=fetched_at)
        assert a == b
        if tidy:
            self.new.tidy()
        self.clock.sleep(60.0)

    def assert_same(self, full: bool = False) -> None:
        """Every read of the two lakes gives the same frame."""
        for symbol in SYMBOLS:
            pd.testing.assert_frame_equal(self.new.read_partition(symbol, "1d"), self.old.read_partition(symbol, "1d"))
        if not full:
            return
        for kwargs in ({}, {"adjusted": False}, {"with_factor": True}):
            pd.testing.assert_frame_equal(
                self.new.read_bars(None, "1d", **kwargs), self.old.read_bars(None, "1d", **kwargs)
            )
        last = self.old.read_bars(None, "1d")["ts"]
        if len(last):
            for at in (last.iloc[len(last) // 2], last.iloc[-1] + pd.Timedelta(days=1)):
                pd.testing.assert_frame_equal(
                    self.new.read_bars_asof(None, "1d", at.to_pydatetime()),
                    self.old.read_bars_asof(None, "1d", at.to_pydatetime()),
                )
            window = {"start": last.iloc[0].to_pydatetime(), "end": last.iloc[-1].to_pydatetime()}
            pd.testing.assert_frame_equal(
                self.new.read_bars(None, "1d", **window), self.old.read_bars(None, "1d", **window)
            )
        pd.testing.assert_frame_equal(self.new.status(), self.old.status())
        pd.testing.assert_frame_equal(self.new.quarantine(), self.old.quarantine())
        assert self.new.symbols("1d") == self.old.symbols("1d")


def make_twin(root: Path) -> Twin:
    clock = SimClock(T0)
    return Twin(Lake(root / "new", clock=clock), Lake(root / "old", clock=clock), clock)


def rows(real: dict[str, pd.DataFrame], lo: int, hi: int) -> pd.DataFrame:
    """Real bars at positions [lo, hi) of every symbol."""
    return pd.concat([real[s].iloc[lo:hi] for s in SYMBOLS], ignore_index=True)


def corrected(frame: pd.DataFrame) -> pd.DataFrame:
    """A vendor correction of real bars: the close moved up a cent (high kept above it)."""
    out = frame.copy()
    out["close"] = out["close"] + 0.01
    out["high"] = np.maximum(out["high"], out["close"])
    return out


# One write or compaction of the equality property: (kind, a, b, flag).
OPS = st.tuples(
    st.sampled_from(["append", "append", "append", "overlap", "compact", "factor", "rescale", "corrupt"]),
    st.integers(1, 10),
    st.integers(0, 3),
    st.booleans(),
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(OPS, min_size=1, max_size=14))
def test_any_interleaving_of_appends_overlaps_and_compactions_reads_like_the_rewrite_path(
    real: dict[str, pd.DataFrame], ops: list[tuple[str, int, int, bool]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        twin = make_twin(Path(tmp))
        twin.write(rows(real, 0, 20))
        cursor = 20
        for kind, n, k, flag in ops:
            if kind == "append":  # the next n bars, k skipped first (a hole a later overlap may fill)
                twin.write(rows(real, cursor + k, cursor + k + n), fetched=flag, tidy=k != 2)
                cursor += k + n
            elif kind == "overlap":  # n stored (or skipped) bars k*3 back, corrected or not, plus k new ones
                lo = max(0, cursor - 3 * k - n)
                old = rows(real, lo, lo + n)
                twin.write(pd.concat([corrected(old) if flag else old, rows(real, cursor, cursor + k)]))
                cursor += k
            elif kind == "compact":
                twin.new.compact()
            elif kind == "factor":  # new bars that carry an adjustment factor (a column older files lack)
                frame = rows(real, cursor, cursor + n).assign(adj_factor=0.5 if flag else 1.0)
                twin.write(frame)
                cursor += n
            elif kind == "rescale":
                assert twin.new.rescale_adj_factor("SPY", "1d", 2.0) == twin.old.rescale_adj_factor("SPY", "1d", 2.0)
            else:  # new bars, one of them corrupted the way feeds go wrong (high below low): quarantined
                frame = rows(real, cursor, cursor + n)
                frame.loc[0, "low"] = frame.loc[0, "high"] + 1.0
                twin.write(frame)
                cursor += n
            twin.assert_same()
        twin.assert_same(full=True)
        twin.new.compact()
        assert delta_files(twin.new) == []
        twin.assert_same(full=True)


def test_a_session_of_single_bar_appends_keeps_few_files_and_reads_like_the_rewrite_path(
    real: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    twin = make_twin(tmp_path)
    twin.write(rows(real, 0, 300))
    for i in range(300, 300 + FANOUT**2 + 3):
        twin.write(rows(real, i, i + 1), fetched=True)
    # 67 appends at fan-out 8, tidied after each: one level-2 file (64 bars) and three level-0 files.
    levels = sorted(parse_delta(Path(name)).level for name in delta_files(twin.new))  # type: ignore[union-attr]
    assert levels == [0, 0, 0, 2]
    twin.assert_same(full=True)
    # Re-sending bars the deltas already hold, unchanged, writes nothing; new ones beside them append.
    before = delta_files(twin.new)
    twin.write(rows(real, 360, 367))
    assert delta_files(twin.new) == before
    twin.write(rows(real, 365, 369))
    assert len(delta_files(twin.new)) == len(before) + 1
    # A correction inside the deltas' range merges everything into a new base.
    twin.write(corrected(rows(real, 340, 341)))
    assert delta_files(twin.new) == []
    twin.assert_same(full=True)


def test_a_partition_read_is_stored_rows_in_order_with_provenance(
    real: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake", clock=SimClock(T0))
    lake.write_bars(rows(real, 0, 10), "1d", "import")
    lake.write_bars(rows(real, 10, 12), "1d", "live", fetched_at=T0, append=True)
    stored = lake.read_partition("SPY", "1d")
    assert list(stored.columns) == [*store.LAKE_COLUMNS, "fetched_at"]
    assert list(stored["source"]) == ["import"] * 10 + ["live"] * 2
    assert stored["fetched_at"].isna().sum() == 10 and stored["ts"].is_monotonic_increasing
    assert lake.status().set_index("symbol").loc["SPY", "sources"] == "import,live"
    assert lake.compact(["SPY"], "1d") == 1 and delta_files(lake) == [] and delta_files(lake, "IBM") != []
    pd.testing.assert_frame_equal(lake.read_partition("SPY", "1d"), stored)


# ---------------------------------------------------------------- cost per appended bar


def written_per_bar(real: dict[str, pd.DataFrame], root: Path, history: int, append: bool) -> list[tuple[int, int]]:
    """(rows, bytes) written to disk by each of 64 single-bar writes of SPY after `history` rows of history."""
    lake = Lake(root, clock=SimClock(T0))
    spy = real["SPY"]
    start = 5_500 - history  # the same 64 appended bars whatever the history
    lake.write_bars(spy.iloc[start:5_500], "1d", "import")
    log: list[tuple[int, int]] = []
    real_write = store._atomic_write

    def counting(frame: pd.DataFrame, path: Path) -> None:
        real_write(frame, path)
        log.append((len(frame), path.stat().st_size))

    store._atomic_write = counting  # type: ignore[assignment]
    try:
        per_bar = []
        for i in range(5_500, 5_564):
            log.clear()
            lake.write_bars(spy.iloc[i : i + 1], "1d", "live", fetched_at=T0, append=append)
            lake.tidy()
            per_bar.append((sum(r for r, _ in log), sum(b for _, b in log)))
    finally:
        store._atomic_write = real_write  # type: ignore[assignment]
    return per_bar


def test_rows_and_bytes_written_per_appended_bar_do_not_depend_on_history(
    real: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    short = written_per_bar(real, tmp_path / "500", 500, append=True)
    long = written_per_bar(real, tmp_path / "5000", 5_000, append=True)
    assert short == long
    # Each bar is written once, then again at each merge of 8 same-level files (by tidy, after the cycle).
    assert sum(r for r, _ in short) == 64 + 64 + 64
    # The rewrite path writes the whole history on every bar.
    rewrite = written_per_bar(real, tmp_path / "rewrite", 5_000, append=False)
    assert min(r for r, _ in rewrite) > 5_000


# ---------------------------------------------------------------- crash safety


def test_a_delta_write_failing_before_its_rename_leaves_the_old_content(
    real: dict[str, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(tmp_path / "lake", clock=SimClock(T0))
    lake.write_bars(rows(real, 0, 50), "1d", "import")
    lake.write_bars(rows(real, 50, 52), "1d", "live", append=True)
    before = lake.read_bars(None, "1d", with_factor=True)
    real_replace = os.replace

    def full_disk(src: Any, dst: Any) -> None:
        if parse_delta(Path(dst)) is not None:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(store.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        lake.write_bars(rows(real, 52, 53), "1d", "live", append=True)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(lake.read_bars(None, "1d", with_factor=True), before)
    assert [p for p in lake.root.rglob("*") if p.name.endswith(".tmp")] == []
    lake.write_bars(rows(real, 52, 53), "1d", "live", append=True)
    assert len(lake.read_partition("SPY", "1d")) == 53


CHILD = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
import pandas as pd
from papertrader.core.clock import SimClock
from papertrader.data import store
from papertrader.data.deltas import parse_delta

root, bars, kill_at = Path(sys.argv[1]), pd.read_parquet(sys.argv[2]), sys.argv[3]
lake = store.Lake(root, clock=SimClock(datetime(2024, 1, 2, tzinfo=UTC)))
real_replace, real_remove, real_write = os.replace, store._remove, store._atomic_write
level = lambda p: -1 if parse_delta(Path(p)) is None else parse_delta(Path(p)).level

def replace(src, dst):
    if kill_at == "rename" and level(dst) == 0:
        os.kill(os.getpid(), signal.SIGKILL)  # the delta is written and fsynced, not yet renamed
    real_replace(src, dst)

def remove(paths):
    if kill_at in ("merge", "compact") and paths:
        os.kill(os.getpid(), signal.SIGKILL)  # the merged file or new base is in place, sources not deleted
    real_remove(paths)

store.os.replace, store._remove = replace, remove
for i in range(len(bars)):
    if kill_at == "compact" and i == len(bars) - 1:
        lake.compact()
    lake.write_bars(bars.iloc[i : i + 1], "1d", "live", append=True)
    lake.tidy()
"""


def kill_child(tmp_path: Path, lake: Lake, bars: pd.DataFrame, kill_at: str) -> None:
    """Run the appends in a child process that SIGKILLs itself at one step of a write."""
    source = tmp_path / "bars.parquet"
    bars.to_parquet(source)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(lake.root), str(source), kill_at],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()


@pytest.mark.parametrize(
    ("kill_at", "appended", "kept"),
    [
        ("rename", 3, 0),  # killed in the first append: nothing of it is visible
        ("merge", FANOUT, FANOUT),  # killed after writing the merged file: superseded sources are ignored
        ("compact", 3, 2),  # killed after the new base: its folded deltas are ignored
    ],
)
def test_a_killed_writer_leaves_the_lake_readable_with_every_completed_write(
    real: dict[str, pd.DataFrame], tmp_path: Path, kill_at: str, appended: int, kept: int
) -> None:
    lake = Lake(tmp_path / "lake", clock=SimClock(T0))
    spy = real["SPY"]
    lake.write_bars(spy.iloc[:100], "1d", "import")
    kill_child(tmp_path, lake, spy.iloc[100 : 100 + appended], kill_at)
    stored = lake.read_partition("SPY", "1d")
    pd.testing.assert_frame_equal(stored.loc[:, list(store.BAR_COLUMNS)], spy.iloc[: 100 + kept])
    assert lake.status()["rows"].tolist() == [100 + kept]
    # The next write cleans what the dead one left and goes on from the stored state.
    lake.write_bars(spy.iloc[100 + kept : 120], "1d", "live", append=True)
    directory = lake.bars_path("SPY", "1d").parent
    assert [p.name for p in directory.iterdir() if p.name.endswith(".tmp")] == []
    pd.testing.assert_frame_equal(lake.read_bars(["SPY"], "1d", adjusted=False), spy.iloc[:120])


# ---------------------------------------------------------------- readers racing a writer


@pytest.fixture
def lake_with_deltas(real: dict[str, pd.DataFrame], tmp_path: Path) -> Iterator[Lake]:
    lake = Lake(tmp_path / "lake", clock=SimClock(T0))
    lake.write_bars(rows(real, 0, 100), "1d", "import")
    for i in range(100, 105):
        lake.write_bars(rows(real, i, i + 1), "1d", "live", append=True)
    yield lake


def test_appends_merge_their_deltas_themselves_when_no_one_tidies(
    real: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake", clock=SimClock(T0))
    lake.write_bars(rows(real, 0, 50), "1d", "import")
    for i in range(50, 50 + store.MAX_LIVE_DELTAS):
        lake.write_bars(rows(real, i, i + 1), "1d", "live", append=True)
    assert len(delta_files(lake)) < FANOUT  # 32 single-bar files became four of level 1
    pd.testing.assert_frame_equal(
        lake.read_bars(["SPY"], "1d", adjusted=False), real["SPY"].iloc[: 50 + store.MAX_LIVE_DELTAS]
    )


@pytest.mark.parametrize("crash_before_cleanup", [False, True])
def test_a_read_racing_a_compaction_starts_over_and_sees_each_row_once(
    lake_with_deltas: Lake, monkeypatch: pytest.MonkeyPatch, crash_before_cleanup: bool
) -> None:
    lake = lake_with_deltas
    expected = lake.read_bars(None, "1d")
    other = Lake(lake.root, clock=SimClock(T0))  # another process compacting between the listing and the query
    if crash_before_cleanup:
        monkeypatch.setattr(other, "_fold_done", lambda base: None)
    real_query = Lake._query
    calls: list[str] = []

    def racing(sql: str, params: Any) -> pd.DataFrame:
        if not calls:
            other.compact()
        calls.append(sql)
        return real_query(sql, params)

    monkeypatch.setattr(Lake, "_query", staticmethod(racing))
    pd.testing.assert_frame_equal(lake.read_bars(None, "1d"), expected)
    assert len(calls) >= 2  # the first answer was thrown away
    assert lake.status()["rows"].tolist() == [105, 105]


def test_a_report_counts_rows_the_deltas_already_hold_as_unchanged(
    real: dict[str, pd.DataFrame], lake_with_deltas: Lake
) -> None:
    report = lake_with_deltas.write_bars(rows(real, 102, 107), "1d", "live", append=True)
    assert report == WriteReport(written=4, quarantined=0, symbols=SYMBOLS[::-1], unchanged=6)
    assert len(lake_with_deltas.read_partition("IBM", "1d")) == 107


def test_an_adjusted_read_applies_a_factor_only_the_deltas_carry(
    real: dict[str, pd.DataFrame], lake_with_deltas: Lake
) -> None:
    lake = lake_with_deltas
    lake.write_bars(rows(real, 105, 106).assign(**{ADJ_FACTOR: 0.5}), "1d", "live", append=True)
    both = lake.read_bars(["SPY"], "1d", with_factor=True)
    assert both[ADJ_FACTOR].isna().sum() == 105 and both[ADJ_FACTOR].iloc[-1] == 0.5
    adjusted = lake.read_bars(["SPY"], "1d")
    assert adjusted["close"].iloc[-1] == pytest.approx(real["SPY"]["close"].iloc[105] * 0.5)
    assert adjusted["close"].iloc[-2] == real["SPY"]["close"].iloc[104]


def test_a_failed_import_puts_back_the_deltas_its_merge_folded(
    real: dict[str, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from papertrader.data.adapters.csv import import_file

    lake = Lake(tmp_path / "lake", clock=SimClock(T0))
    lake.write_bars(rows(real, 0, 50), "1d", "import")
    lake.write_bars(rows(real, 50, 53), "1d", "live", append=True)
    before = lake.read_bars(None, "1d", adjusted=False)
    path = tmp_path / "more.parquet"
    rows(real, 45, 60).to_parquet(path)
    calls: list[Path] = []
    real_write = Lake._write_partition

    def fail_on_second(frame: pd.DataFrame, target: Path) -> None:
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_write(frame, target)

    monkeypatch.setattr(Lake, "_write_partition", staticmethod(fail_on_second))
    with pytest.raises(OSError, match="No space"):
        import_file(lake, path, symbol=None, interval="1d", tz=None)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(lake.read_bars(None, "1d", adjusted=False), before)
