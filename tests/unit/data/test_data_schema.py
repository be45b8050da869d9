"""Conventions shared by the lake and adapters: intervals, daily stamps, partition names."""

from __future__ import annotations

import pandas as pd
import pytest

from papertrader.core.errors import DataError
from papertrader.data.schema import INTERVALS, daily_stamp, empty_bars, normalize_interval
from papertrader.data.store import decode_name, encode_name


@pytest.mark.parametrize(
    ("given", "expected"),
    [("1d", "1d"), ("daily", "1d"), ("60min", "1h"), ("1H", "1h"), ("5min", "5m"), ("1min", "1m")],
)
def test_vendor_interval_spellings_map_to_one_canonical_interval(given: str, expected: str) -> None:
    assert normalize_interval(given) == expected


def test_unknown_interval_is_a_data_error_listing_the_valid_ones() -> None:
    with pytest.raises(DataError, match="1m, 5m, 15m, 30m, 1h, 1d"):
        normalize_interval("2h")
    assert INTERVALS == ("1m", "5m", "15m", "30m", "1h", "1d")


def test_daily_bars_are_stamped_at_new_york_midnight_in_utc_across_dst() -> None:
    stamps = daily_stamp(pd.Series(pd.to_datetime(["2013-03-01", "2013-07-01"])))
    assert list(stamps) == [
        pd.Timestamp("2013-03-01 05:00", tz="UTC"),
        pd.Timestamp("2013-07-01 04:00", tz="UTC"),
    ]
    assert str(stamps.dtype) == "datetime64[ns, UTC]"


def test_daily_stamp_of_an_aware_time_uses_its_new_york_session_date() -> None:
    close = pd.Series([pd.Timestamp("2013-03-01 16:00", tz="America/New_York")])
    assert daily_stamp(close).iloc[0] == pd.Timestamp("2013-03-01 05:00", tz="UTC")


@pytest.mark.parametrize("symbol", ["AAPL", "^GSPC", "SHOP.TO", "BRK/B", "BF B", "A=B", ".", "..", "réel"])
def test_partition_names_round_trip_and_stay_one_safe_path_segment(symbol: str) -> None:
    name = encode_name(symbol)
    assert decode_name(name) == symbol
    assert "/" not in name and "\\" not in name and " " not in name and "=" not in name
    assert name not in (".", "..", "")


def test_plain_and_index_symbols_keep_their_readable_names() -> None:
    assert encode_name("^GSPC") == "^GSPC"
    assert encode_name("SHOP.TO") == "SHOP.TO"


def test_empty_bars_has_the_long_format_columns_and_dtypes() -> None:
    df = empty_bars()
    assert list(df.columns) == ["symbol", "ts", "open", "high", "low", "close", "volume"]
    assert str(df["ts"].dtype) == "datetime64[ns, UTC]"
    assert all(str(df[c].dtype) == "float64" for c in ["open", "high", "low", "close", "volume"])
