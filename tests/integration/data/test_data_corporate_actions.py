"""The lake keeps raw prints, adj_factor and the corporate actions behind it: bundled bokeh prices, a
user's CSV with split/dividend columns (real AAPL bars around its 2014 7:1 split), and the store itself."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from papertrader.core.clock import SimClock
from papertrader.core.errors import DataError
from papertrader.data import Lake
from papertrader.data.adapters.bundled import BundledSource, import_bundled
from papertrader.data.adapters.csv import import_file
from support import SHARED

AAPL_1D = SHARED / "equity-us" / "1d" / "AAPL.csv.gz"


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake", clock=SimClock(datetime(2024, 1, 2, tzinfo=UTC)))


def test_actions_are_stored_once_and_read_back_sorted(lake: Lake) -> None:
    ts = pd.to_datetime(["2020-08-31 04:00", "2014-06-09 04:00"]).tz_localize("UTC")
    actions = pd.DataFrame({"symbol": ["AAPL", "AAPL"], "ts": ts, "split_ratio": [4.0, 7.0], "dividend": [0.0, 0.0]})
    first = lake.write_actions(actions, "test")
    again = lake.write_actions(actions, "test")
    assert (first.written, again.written, again.unchanged) == (2, 0, 2)
    back = lake.read_actions(["AAPL"])
    assert back["split_ratio"].tolist() == [7.0, 4.0] and list(back.columns) == [
        "symbol",
        "ts",
        "split_ratio",
        "dividend",
    ]
    assert lake.read_actions(["MSFT"]).empty
    with pytest.raises(DataError, match="positive split ratio"):
        lake.write_actions(actions.assign(split_ratio=-1.0), "test")


def test_bundled_import_stores_the_raw_prints_their_factor_and_the_splits(lake: Lake) -> None:
    import_bundled(lake, BundledSource(symbols=("AAPL", "MSFT")))
    raw = lake.read_bars(["AAPL"], "1d", with_factor=True).set_index("ts")
    day = pd.Timestamp("2000-06-20 04:00", tz="UTC")
    assert raw.loc[day, "close"] == 101.25  # the print, before the 2000-06-21 2:1 split
    adjusted = lake.read_bars(["AAPL"], "1d").set_index("ts")
    assert adjusted.loc[day, "close"] == raw.loc[day, "close"] * raw.loc[day, "adj_factor"]
    actions = lake.read_actions()
    splits = actions[actions["split_ratio"] != 1.0]
    assert [
        (s, str(t.tz_convert("America/New_York").date())) for s, t in zip(splits["symbol"], splits["ts"], strict=True)
    ] == [
        ("AAPL", "2000-06-21"),
        ("MSFT", "2003-02-18"),
        ("AAPL", "2005-02-28"),
    ]
    dividends = actions[actions["dividend"] > 0]
    msft_special = dividends[(dividends["symbol"] == "MSFT") & (dividends["dividend"] > 2)]
    assert msft_special["dividend"].round(1).tolist() == [3.0]  # the $3 special dividend of November 2004
    assert lake.write_actions(actions, "bundled:bokeh_sampledata").written == 0


@pytest.mark.skipif(not AAPL_1D.exists(), reason="shared data not available")
def test_a_csv_with_a_split_column_stores_the_action_and_a_continuous_adjusted_history(
    lake: Lake, tmp_path: Path
) -> None:
    with gzip.open(AAPL_1D, "rt") as fh:
        frame = pd.read_csv(fh)
    frame = frame[(frame["timestamp"] >= "2014-05-01") & (frame["timestamp"] < "2014-07-01")].copy()
    frame["split_ratio"] = np.where(frame["timestamp"].str.startswith("2014-06-09"), 7.0, 1.0)
    path = tmp_path / "aapl.csv"
    frame.to_csv(path, index=False)
    report = import_file(lake, path, symbol=None, interval="1d", tz=None)
    assert report.written == len(frame) and report.quarantined == 0
    actions = lake.read_actions(["AAPL"])
    assert actions["split_ratio"].tolist() == [7.0]
    assert str(actions["ts"].iloc[0].tz_convert("America/New_York").date()) == "2014-06-09"
    raw = lake.read_bars(["AAPL"], "1d", adjusted=False)["close"].to_numpy()
    adjusted = lake.read_bars(["AAPL"], "1d")["close"].to_numpy()
    assert np.abs(np.diff(np.log(raw))).max() > 1.9  # the print fell 7x on the ex-date
    assert np.abs(np.diff(np.log(adjusted))).max() < 0.05  # the adjusted series did not


def test_split_columns_in_an_intraday_file_are_refused(lake: Lake, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        "symbol,timestamp,open,high,low,close,volume,split_ratio\nX,2020-01-02T09:30:00-05:00,1,1,1,1,1,1\n"
    )
    with pytest.raises(DataError, match="daily file"):
        import_file(lake, path, symbol=None, interval="1h", tz=None)
