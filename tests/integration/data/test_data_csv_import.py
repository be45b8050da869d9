"""Importing users' files: real CSVs with offsets, dates, aliases, naive times, bad rows, Parquet."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from papertrader.core.clock import SimClock
from papertrader.core.errors import DataError
from papertrader.data import Lake
from papertrader.data.adapters.csv import import_file, read_file
from papertrader.data.quality import REASON_MISSING, REASON_OUT_OF_ORDER
from support import SHARED as SHARED_DATA

SHARED = SHARED_DATA / "equity-us"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f"real bars not found at {SHARED}")
SPY_1D = SHARED / "1d" / "SPY.csv.gz"
AAPL_1H = SHARED / "1h" / "AAPL.csv.gz"


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake", clock=SimClock(datetime(2024, 1, 2, tzinfo=UTC)))


def head_lines(path: Path, n: int) -> list[str]:
    with gzip.open(path, "rt") as fh:
        return [next(fh) for _ in range(n)]


def write_text(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(lines))
    return path


def test_spy_daily_file_imports_whole_at_new_york_midnight(lake: Lake) -> None:
    report = import_file(lake, SPY_1D, symbol=None, interval="1d", tz=None)
    assert (report.written, report.quarantined, report.symbols) == (5849, 0, ("SPY",))
    bars = lake.read_bars(["SPY"], "1d")
    assert bars["ts"].iloc[0] == pd.Timestamp("1998-01-02 05:00", tz="UTC")  # EST
    assert bars["ts"].iloc[-1] == pd.Timestamp("2021-03-31 04:00", tz="UTC")  # EDT
    assert bars.iloc[0][["open", "high", "low", "close", "volume"]].tolist() == [
        97.31,
        97.53,
        96.53,
        97.36,
        2150000.0,
    ]
    assert lake.status().loc[0, "sources"] == "file:SPY.csv.gz"


def test_aapl_hourly_offsets_are_converted_to_utc(lake: Lake) -> None:
    report = import_file(lake, AAPL_1H, symbol=None, interval="1h", tz=None)
    assert (report.written, report.quarantined) == (40831, 0)
    bars = lake.read_bars(["AAPL"], "1h")
    # 1998-01-02T09:00:00-0500 is the first bar; in summer the offset is -0400.
    assert bars["ts"].iloc[0] == pd.Timestamp("1998-01-02 14:00", tz="UTC")
    assert bars["ts"].iloc[-1] == pd.Timestamp("2021-03-31 19:00", tz="UTC")  # 15:00-0400
    assert bars["ts"].dt.tz_convert("America/New_York").dt.hour.between(9, 15).all()


def test_naive_intraday_timestamps_without_tz_are_refused_with_a_fix(lake: Lake, tmp_path: Path) -> None:
    lines = head_lines(AAPL_1H, 30)
    naive = write_text(tmp_path / "aapl_naive.csv", [ln.replace("-0500", "") for ln in lines])
    with pytest.raises(DataError, match="--tz"):
        import_file(lake, naive, symbol=None, interval="1h", tz=None)
    assert lake.symbols("1h") == []


def test_naive_timestamps_with_tz_match_the_offset_file(lake: Lake, tmp_path: Path) -> None:
    lines = head_lines(AAPL_1H, 30)
    naive = write_text(tmp_path / "aapl_naive.csv", [ln.replace("-0500", "") for ln in lines])
    with_offsets = write_text(tmp_path / "aapl_offsets.csv", lines)
    localized = read_file(naive, symbol=None, interval="1h", tz="America/New_York")
    pd.testing.assert_frame_equal(localized, read_file(with_offsets, symbol=None, interval="1h", tz=None))
    with pytest.raises(DataError, match="timezone"):
        read_file(naive, symbol=None, interval="1h", tz="Mars/Olympus")


def test_daily_dates_use_midnight_of_the_given_tz(tmp_path: Path) -> None:
    spy = write_text(tmp_path / "spy.csv", head_lines(SPY_1D, 3))
    toronto = read_file(spy, symbol=None, interval="1d", tz="America/Toronto")
    assert toronto["ts"].iloc[0] == pd.Timestamp("1998-01-02 05:00", tz="UTC")
    london = read_file(spy, symbol=None, interval="1d", tz="Europe/London")
    assert london["ts"].iloc[0] == pd.Timestamp("1998-01-02 00:00", tz="UTC")


def test_hourly_file_imported_as_daily_keeps_the_session_date(tmp_path: Path) -> None:
    aapl = write_text(tmp_path / "aapl.csv", head_lines(AAPL_1H, 3))
    daily = read_file(aapl, symbol=None, interval="1d", tz=None)
    assert set(daily["ts"]) == {pd.Timestamp("1998-01-02 05:00", tz="UTC")}


def test_file_without_symbol_column_needs_a_symbol(lake: Lake, tmp_path: Path) -> None:
    lines = head_lines(SPY_1D, 20)
    bare = write_text(tmp_path / "spy_bare.csv", [ln.split(",", 1)[1] for ln in lines])
    with pytest.raises(DataError, match="--symbol"):
        import_file(lake, bare, symbol=None, interval="1d", tz=None)
    report = import_file(lake, bare, symbol="SPY", interval="1d", tz=None)
    assert (report.written, report.symbols) == (19, ("SPY",))


def test_header_aliases_are_matched_case_insensitively(tmp_path: Path) -> None:
    lines = head_lines(SPY_1D, 20)
    renamed = write_text(tmp_path / "spy_aliases.csv", ["Ticker,Date,O,H,L,C,Vol\n", *lines[1:]])
    expected = read_file(write_text(tmp_path / "spy.csv", lines), symbol=None, interval="1d", tz=None)
    pd.testing.assert_frame_equal(read_file(renamed, symbol=None, interval="1d", tz=None), expected)


def test_separate_date_and_time_columns_are_combined(tmp_path: Path) -> None:
    lines = head_lines(AAPL_1H, 8)
    split = ["Symbol,Date,Time,Open,High,Low,Close,Volume\n"]
    split += [ln.replace("T", ",", 1).replace("-0500", "") for ln in lines[1:]]
    path = write_text(tmp_path / "aapl_split.csv", split)
    expected = read_file(write_text(tmp_path / "aapl.csv", lines), symbol=None, interval="1h", tz=None)
    got = read_file(path, symbol=None, interval="1h", tz="America/New_York")
    pd.testing.assert_frame_equal(got, expected)


def test_explicit_mapping_overrides_and_adj_close_is_never_taken_for_close(tmp_path: Path) -> None:
    lines = head_lines(SPY_1D, 20)
    with_adj = ["symbol,when,open,high,low,adj close,close,volume\n"]
    with_adj += [",".join([*ln.strip().split(",")[:5], "1.0", *ln.strip().split(",")[5:]]) + "\n" for ln in lines[1:]]
    path = write_text(tmp_path / "spy_adj.csv", with_adj)
    with pytest.raises(DataError, match="ts"):
        read_file(path, symbol=None, interval="1d", tz=None)
    bars = read_file(path, symbol=None, interval="1d", tz=None, columns={"ts": "WHEN"})
    assert bars["close"].iloc[0] == 97.36
    with pytest.raises(DataError, match="nope"):
        read_file(path, symbol=None, interval="1d", tz=None, columns={"ts": "nope"})


def test_bad_rows_in_a_file_are_quarantined_not_raised(lake: Lake, tmp_path: Path) -> None:
    lines = head_lines(SPY_1D, 30)
    lines[5] = "SPY,1998-01-08,97.0,abc,96.0,96.5,100\n"  # unparseable price
    lines[6] = "SPY,not-a-date,97.0,98.0,96.0,96.5,100\n"  # unparseable date
    lines.append(lines.pop(10))  # an older bar moved to the end: out of order
    path = write_text(tmp_path / "spy_bad.csv", lines)
    report = import_file(lake, path, symbol=None, interval="1d", tz=None)
    assert (report.written, report.quarantined) == (26, 3)
    assert sorted(lake.quarantine()["reason"]) == [REASON_MISSING, REASON_MISSING, REASON_OUT_OF_ORDER]


def test_newest_first_file_is_imported_whole(lake: Lake, tmp_path: Path) -> None:
    lines = head_lines(SPY_1D, 40)
    path = write_text(tmp_path / "spy_desc.csv", [lines[0], *reversed(lines[1:])])
    report = import_file(lake, path, symbol=None, interval="1d", tz=None)
    assert (report.written, report.quarantined) == (39, 0)


def test_multi_symbol_file_imports_each_symbol_or_one_on_request(lake: Lake, tmp_path: Path) -> None:
    spy, ibm = head_lines(SPY_1D, 11), head_lines(SHARED / "1d" / "IBM.csv.gz", 11)
    path = write_text(tmp_path / "both.csv", [*spy, *ibm[1:]])
    assert import_file(lake, path, symbol="IBM", interval="1d", tz=None).symbols == ("IBM",)
    assert import_file(lake, path, symbol=None, interval="1d", tz=None).symbols == ("IBM", "SPY")
    assert lake.symbols("1d") == ["IBM", "SPY"]
    with pytest.raises(DataError, match="no rows for symbol"):
        import_file(lake, path, symbol="MSFT", interval="1d", tz=None)


def test_parquet_file_with_aware_timestamps_imports_like_the_csv(lake: Lake, tmp_path: Path) -> None:
    csv = write_text(tmp_path / "aapl.csv", head_lines(AAPL_1H, 101))
    bars = read_file(csv, symbol=None, interval="1h", tz=None)
    parquet = tmp_path / "aapl.parquet"
    bars.rename(columns={"ts": "timestamp"}).to_parquet(parquet)
    report = import_file(lake, parquet, symbol=None, interval="60min", tz=None)
    assert report.written == 100
    pd.testing.assert_frame_equal(lake.read_bars(["AAPL"], "1h"), bars)


def test_reimporting_the_same_file_changes_nothing(lake: Lake) -> None:
    import_file(lake, SPY_1D, symbol=None, interval="1d", tz=None)
    again = import_file(lake, SPY_1D, symbol=None, interval="1d", tz=None)
    assert (again.written, again.unchanged) == (0, 5849)


def test_missing_or_unreadable_files_are_data_errors(lake: Lake, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        import_file(lake, tmp_path / "nope.csv", symbol="X", interval="1d", tz=None)
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match="cannot read"):
        import_file(lake, broken, symbol="X", interval="1d", tz=None)
    with pytest.raises(DataError, match="cannot find column"):
        import_file(lake, write_text(tmp_path / "x.csv", ["a,b\n", "1,2\n"]), symbol="X", interval="1d", tz=None)
