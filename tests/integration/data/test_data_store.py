"""The Parquet lake on real bars: round trips, corrections, idempotency, windows, quarantine, status."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from papertrader.core.clock import SimClock
from papertrader.core.errors import DataError
from papertrader.data import Lake, WriteReport
from papertrader.data.adapters.csv import read_file
from papertrader.data.quality import REASON_DUPLICATE, REASON_HIGH_LOW, REASON_NEGATIVE_VOLUME
from support import SHARED as SHARED_DATA

SHARED = SHARED_DATA / "equity-us"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f"real bars not found at {SHARED}")

COLUMNS = ["symbol", "ts", "open", "high", "low", "close", "volume"]


@pytest.fixture(scope="module")
def spy() -> pd.DataFrame:
    """Real SPY daily bars, 1998-01-02 onwards (first 250 sessions)."""
    return read_file(SHARED / "1d" / "SPY.csv.gz", symbol=None, interval="1d", tz=None).head(250)


@pytest.fixture(scope="module")
def ibm() -> pd.DataFrame:
    """Real IBM daily bars over the same sessions."""
    return read_file(SHARED / "1d" / "IBM.csv.gz", symbol=None, interval="1d", tz=None).head(250)


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake", clock=SimClock(datetime(2024, 1, 2, tzinfo=UTC)))


def test_round_trip_returns_exactly_the_bars_written(lake: Lake, spy: pd.DataFrame) -> None:
    report = lake.write_bars(spy, "1d", "test")
    assert report == WriteReport(written=250, quarantined=0, symbols=("SPY",), unchanged=0)
    back = lake.read_bars(["SPY"], "1d")
    pd.testing.assert_frame_equal(back, spy.reset_index(drop=True))
    assert list(back.columns) == COLUMNS
    assert str(back["ts"].dtype) == "datetime64[ns, UTC]"


def test_stored_file_carries_source_and_ingested_at(lake: Lake, spy: pd.DataFrame) -> None:
    lake.write_bars(spy, "1d", "test")
    stored = pd.read_parquet(lake.bars_path("SPY", "1d"))
    assert list(stored.columns) == [*COLUMNS, "source", "ingested_at"]
    assert set(stored["source"]) == {"test"}
    assert set(stored["ingested_at"]) == {pd.Timestamp("2024-01-02", tz="UTC")}
    assert str(stored["ts"].dtype) == "datetime64[ns, UTC]"


def test_corrected_bar_replaces_the_stored_one_and_keeps_the_rest(lake: Lake, spy: pd.DataFrame) -> None:
    lake.write_bars(spy, "1d", "vendor-a")
    fix = spy.iloc[[10]].copy()
    fix["close"] = fix["close"] + 0.01
    fix["high"] = np.maximum(fix["high"], fix["close"])
    report = lake.write_bars(fix, "1d", "vendor-b")
    assert (report.written, report.unchanged) == (1, 0)
    back = lake.read_bars(["SPY"], "1d")
    assert len(back) == 250
    assert back.loc[10, "close"] == fix["close"].iloc[0]
    pd.testing.assert_frame_equal(back.drop(index=10), spy.drop(index=10))
    assert lake.status().loc[0, "sources"] == "vendor-a,vendor-b"


def test_second_identical_write_changes_nothing_on_disk(lake: Lake, spy: pd.DataFrame) -> None:
    lake.write_bars(spy, "1d", "test")
    path = lake.bars_path("SPY", "1d")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    report = lake.write_bars(spy, "1d", "test")
    assert (report.written, report.unchanged) == (0, 250)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_overlapping_writes_merge_without_losing_rows(lake: Lake, spy: pd.DataFrame) -> None:
    lake.write_bars(spy.iloc[:150], "1d", "test")
    report = lake.write_bars(spy.iloc[100:], "1d", "test")
    assert (report.written, report.unchanged) == (100, 50)
    pd.testing.assert_frame_equal(lake.read_bars(["SPY"], "1d"), spy.reset_index(drop=True))


def test_a_bad_copy_of_a_stored_bar_never_replaces_it(lake: Lake, spy: pd.DataFrame) -> None:
    lake.write_bars(spy, "1d", "test")
    bad = spy.iloc[[5]].copy()
    bad["low"] = bad["high"] + 1  # real row corrupted on purpose: high < low
    report = lake.write_bars(bad, "1d", "glitchy")
    assert (report.written, report.quarantined) == (0, 1)
    pd.testing.assert_frame_equal(lake.read_bars(["SPY"], "1d"), spy.reset_index(drop=True))


def test_time_window_is_start_inclusive_end_exclusive(lake: Lake, spy: pd.DataFrame) -> None:
    lake.write_bars(spy, "1d", "test")
    start, end = pd.Timestamp(spy["ts"].iloc[20]), pd.Timestamp(spy["ts"].iloc[30])
    window = lake.read_bars(["SPY"], "1d", start=start.to_pydatetime(), end=end.to_pydatetime())
    assert list(window["ts"]) == list(spy.loc[20:29, "ts"])
    assert lake.read_bars(["SPY"], "1d", start=spy["ts"].iloc[-1] + pd.Timedelta(days=1)).empty


def test_naive_window_bounds_are_refused(lake: Lake, spy: pd.DataFrame) -> None:
    lake.write_bars(spy, "1d", "test")
    with pytest.raises(DataError, match="timezone"):
        lake.read_bars(["SPY"], "1d", start=datetime(1998, 3, 1))


def test_unknown_symbol_and_empty_lake_give_empty_frames_with_the_right_dtypes(lake: Lake, spy: pd.DataFrame) -> None:
    empty = lake.read_bars(None, "1d")
    assert empty.empty and list(empty.columns) == COLUMNS
    assert str(empty["ts"].dtype) == "datetime64[ns, UTC]"
    lake.write_bars(spy, "1d", "test")
    assert lake.read_bars(["NOPE"], "1d").empty
    assert len(lake.read_bars(["SPY", "NOPE"], "1d")) == 250
    assert lake.read_bars(["SPY"], "1h").empty


def test_several_symbols_come_back_sorted_by_ts_then_symbol(lake: Lake, spy: pd.DataFrame, ibm: pd.DataFrame) -> None:
    lake.write_bars(pd.concat([spy, ibm]), "1d", "test")
    both = lake.read_bars(None, "1d")
    assert len(both) == 500
    assert list(both["symbol"].iloc[:4]) == ["IBM", "SPY", "IBM", "SPY"]
    assert both[["ts", "symbol"]].equals(both[["ts", "symbol"]].sort_values(["ts", "symbol"]))
    assert lake.read_bars("IBM", "1d")["symbol"].unique().tolist() == ["IBM"]
    assert lake.symbols("1d") == ["IBM", "SPY"]
    assert lake.intervals() == ["1d"]


def test_a_rewrite_is_visible_to_the_next_read(lake: Lake, spy: pd.DataFrame) -> None:
    lake.write_bars(spy.iloc[:10], "1d", "test")
    assert len(lake.read_bars(["SPY"], "1d")) == 10
    lake.write_bars(spy.iloc[10:20], "1d", "test")
    assert len(lake.read_bars(["SPY"], "1d")) == 20


def test_odd_symbol_names_round_trip_and_duckdb_hive_partitioning_reads_them(lake: Lake, spy: pd.DataFrame) -> None:
    for name in ("^GSPC", "SHOP.TO", "BRK/B"):
        lake.write_bars(spy.assign(symbol=name).head(5), "1d", "test")
    assert lake.symbols("1d") == ["BRK/B", "SHOP.TO", "^GSPC"]
    assert sorted(lake.read_bars(None, "1d")["symbol"].unique()) == ["BRK/B", "SHOP.TO", "^GSPC"]
    assert lake.bars_path("^GSPC", "1d").parent.name == "symbol=^GSPC"
    glob = str(lake.root / "bars" / "*" / "*" / "data.parquet")
    sql = f"SELECT DISTINCT interval, symbol FROM read_parquet('{glob}', hive_partitioning = true)"
    with duckdb.connect() as con:
        hive = con.execute(sql + " ORDER BY symbol").fetchall()
    assert hive == [("1d", "BRK/B"), ("1d", "SHOP.TO"), ("1d", "^GSPC")]


def test_quarantined_rows_are_persisted_with_reason_and_counted_in_status(lake: Lake, spy: pd.DataFrame) -> None:
    # Real SPY rows, three of them corrupted on purpose the way feeds go wrong.
    df = spy.copy()
    df.loc[3, "volume"] = -100.0
    df.at[7, "low"] = float(df["high"].iloc[7]) + 1.0
    df = pd.concat([df, df.iloc[[9]]], ignore_index=True)  # a repeated bar
    report = lake.write_bars(df, "1d", "feed")
    assert (report.written, report.quarantined) == (248, 3)

    q = lake.quarantine(symbol="SPY", interval="1d")
    assert sorted(q["reason"]) == sorted([REASON_NEGATIVE_VOLUME, REASON_HIGH_LOW, REASON_DUPLICATE])
    assert set(q["source"]) == {"feed"} and set(q["interval"]) == {"1d"}
    assert {"ts", "open", "high", "low", "close", "volume", "detected_at"} <= set(q.columns)
    assert str(q["ts"].dtype) == "datetime64[ns, UTC]"

    status = lake.status()
    row = status.loc[(status["interval"] == "1d") & (status["symbol"] == "SPY")].iloc[0]
    assert (row["rows"], row["quarantined"], row["sources"]) == (248, 3, "feed")
    assert row["first_ts"] == spy["ts"].iloc[0] and row["last_ts"] == spy["ts"].iloc[-1]
    assert lake.quarantine(symbol="IBM").empty


def test_same_bad_rows_imported_twice_are_quarantined_once(lake: Lake, spy: pd.DataFrame) -> None:
    df = spy.head(20).copy()
    df.loc[3, "volume"] = -1.0
    lake.write_bars(df, "1d", "feed")
    lake.write_bars(df, "1d", "feed")
    assert len(lake.quarantine()) == 1


def test_rows_without_symbol_are_quarantined_not_lost(lake: Lake, spy: pd.DataFrame) -> None:
    df = spy.head(5).astype({"symbol": object})
    df.loc[2, "symbol"] = None
    report = lake.write_bars(df, "1d", "feed")
    assert (report.written, report.quarantined) == (4, 1)
    q = lake.quarantine()
    assert q["symbol"].isna().all() and list(q["reason"]) == ["missing value"]


def test_writes_leave_no_temporary_files(lake: Lake, spy: pd.DataFrame) -> None:
    lake.write_bars(spy, "1d", "test")
    lake.write_bars(spy.assign(close=spy["close"] * 1.0001, high=spy["high"] * 1.001), "1d", "test")
    leftovers = [p for p in lake.root.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_naive_timestamps_and_missing_columns_are_refused_with_a_fix(lake: Lake, spy: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="timezone-aware"):
        lake.write_bars(spy.assign(ts=spy["ts"].dt.tz_localize(None)), "1d", "test")
    with pytest.raises(DataError, match="volume"):
        lake.write_bars(spy.drop(columns=["volume"]), "1d", "test")
    with pytest.raises(DataError, match="interval"):
        lake.write_bars(spy, "2d", "test")


def test_unreadable_partition_stops_the_write_instead_of_overwriting_it(lake: Lake, spy: pd.DataFrame) -> None:
    lake.write_bars(spy.head(5), "1d", "test")
    path = lake.bars_path("SPY", "1d")
    path.write_bytes(b"not parquet")
    with pytest.raises(DataError, match="cannot read"):
        lake.write_bars(spy.iloc[5:10], "1d", "test")
    assert path.read_bytes() == b"not parquet"


def test_status_of_empty_lake_has_the_documented_columns(lake: Lake) -> None:
    status = lake.status()
    assert status.empty
    assert list(status.columns) == [
        "interval",
        "symbol",
        "first_ts",
        "last_ts",
        "rows",
        "quarantined",
        "sources",
    ]
    assert lake.symbols("1d") == [] and lake.intervals() == [] and lake.series_names() == []


def test_series_write_merge_and_read_by_reference_date(lake: Lake) -> None:
    from arch.data import core_cpi

    cpi = core_cpi.load()["CPILFESL"]
    frame = pd.DataFrame({"date": cpi.index, "value": cpi.to_numpy()})
    first = lake.write_series("CPILFESL", frame.iloc[:400], "fred")
    assert (first.written, first.quarantined) == (400, 0)
    revised = frame.iloc[390:].copy()
    revised.loc[revised.index[0], "value"] += 0.1  # a revision of an already stored month
    second = lake.write_series("CPILFESL", revised, "fred")
    assert (second.written, second.unchanged) == (len(frame) - 400 + 1, 9)

    back = lake.read_series("CPILFESL")
    assert len(back) == len(frame)
    assert list(back.columns) == ["date", "value", "source"]
    assert str(back["date"].dtype) == "datetime64[ns, UTC]"
    assert back["date"].iloc[0] == pd.Timestamp("1957-01-01", tz="UTC")
    assert back["value"].iloc[390] == pytest.approx(frame["value"].iloc[390] + 0.1)
    assert back["date"].is_monotonic_increasing
    assert lake.series_names() == ["CPILFESL"]
    again = lake.write_series("CPILFESL", back[["date", "value"]], "fred")
    assert again.written == 0


def test_series_nan_observations_are_dropped_and_counted(lake: Lake) -> None:
    from arch.data import wti

    raw = wti.load()["DCOILWTICO"]
    report = lake.write_series("WTI", pd.DataFrame({"date": raw.index, "value": raw.to_numpy()}), "fred")
    assert report.quarantined == int(raw.isna().sum()) > 0
    assert len(lake.read_series("WTI")) == int(raw.notna().sum())


def test_unknown_series_is_a_data_error_naming_what_exists(lake: Lake) -> None:
    with pytest.raises(DataError, match="import"):
        lake.read_series("GDP")


def test_concurrent_writers_in_threads_lose_no_rows(lake: Lake, spy: pd.DataFrame) -> None:
    from concurrent.futures import ThreadPoolExecutor

    chunks = [spy.iloc[i : i + 25] for i in range(0, 250, 25)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda c: lake.write_bars(c, "1d", "test"), chunks))
    assert len(lake.read_bars(["SPY"], "1d")) == 250
    assert os.listdir(lake.bars_path("SPY", "1d").parent) == ["data.parquet"]
