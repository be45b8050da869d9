"""Quality rules: every bad-row kind is quarantined with its reason and every good row is kept.

The frames here are SYNTHETIC on purpose: each test builds the smallest frame that shows one rule.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from papertrader.core.errors import DataError
from papertrader.data import QualityResult, validate_bars
from papertrader.data.quality import (
    REASON_BOUNDS,
    REASON_DUPLICATE,
    REASON_HIGH_LOW,
    REASON_INFINITE_VOLUME,
    REASON_MISSING,
    REASON_NEGATIVE_VOLUME,
    REASON_OUT_OF_ORDER,
    REASON_PRICE,
    REASONS,
)

T0 = pd.Timestamp("2024-01-02 14:30", tz="UTC")


def bar(symbol: object = "AAA", minute: int = 0, **values: float | None) -> dict[str, object]:
    """One synthetic, valid-by-default bar; override fields to break it."""
    row: dict[str, object] = {
        "symbol": symbol,
        "ts": T0 + pd.Timedelta(minutes=minute),
        "open": 10.0,
        "high": 11.0,
        "low": 9.0,
        "close": 10.5,
        "volume": 100.0,
    }
    row.update(values)
    return row


def frame(*rows: dict[str, object]) -> pd.DataFrame:
    df = pd.DataFrame(list(rows))
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    return df


def reasons(result: QualityResult) -> list[str]:
    return list(result.quarantined["reason"])


def test_clean_frame_is_all_valid_and_sorted_by_symbol_then_ts() -> None:
    df = frame(bar("BBB", 0), bar("AAA", 1), bar("AAA", 2), bar("BBB", 1))
    result = validate_bars(df)
    assert result.quarantined.empty
    assert list(zip(result.valid["symbol"], result.valid["ts"], strict=True)) == [
        ("AAA", T0 + pd.Timedelta(minutes=1)),
        ("AAA", T0 + pd.Timedelta(minutes=2)),
        ("BBB", T0),
        ("BBB", T0 + pd.Timedelta(minutes=1)),
    ]
    assert list(result.valid.index) == [0, 1, 2, 3]
    assert str(result.valid["ts"].dtype) == "datetime64[ns, UTC]"


@pytest.mark.parametrize("column", ["symbol", "ts", "open", "high", "low", "close", "volume"])
def test_missing_value_in_any_column_is_quarantined(column: str) -> None:
    df = frame(bar(minute=0), bar(minute=1), bar(minute=2))
    df[column] = df[column].astype(object)
    df.loc[1, column] = None
    if column == "ts":
        df["ts"] = pd.to_datetime(df["ts"], utc=True)
    result = validate_bars(df)
    assert reasons(result) == [REASON_MISSING]
    assert len(result.valid) == 2


def test_non_numeric_price_counts_as_missing() -> None:
    df = frame(bar(minute=0), bar(minute=1))
    df["close"] = df["close"].astype(object)
    df.loc[0, "close"] = "n/a"
    assert reasons(validate_bars(df)) == [REASON_MISSING]


@pytest.mark.parametrize(
    ("column", "value"),
    [("open", 0.0), ("high", -1.0), ("low", -0.5), ("close", math.inf), ("low", -math.inf)],
)
def test_non_positive_or_infinite_price_is_quarantined(column: str, value: float) -> None:
    result = validate_bars(frame(bar(minute=0), bar(minute=1, **{column: value})))
    assert reasons(result) == [REASON_PRICE]
    assert len(result.valid) == 1


def test_high_below_low_is_quarantined() -> None:
    result = validate_bars(frame(bar(minute=0), bar(minute=1, high=8.0, low=9.0, open=8.5, close=8.5)))
    assert reasons(result) == [REASON_HIGH_LOW]


@pytest.mark.parametrize(
    "values",
    [{"high": 10.2}, {"low": 10.2}, {"open": 12.0}, {"close": 8.0}],
    ids=["high-below-close", "low-above-open", "open-above-high", "close-below-low"],
)
def test_high_low_not_bounding_open_close_is_quarantined(values: dict[str, float]) -> None:
    result = validate_bars(frame(bar(minute=0), bar(minute=1, **values)))
    assert reasons(result) == [REASON_BOUNDS]


def test_negative_volume_is_quarantined_but_zero_volume_is_valid() -> None:
    result = validate_bars(frame(bar(minute=0, volume=0.0), bar(minute=1, volume=-5.0)))
    assert reasons(result) == [REASON_NEGATIVE_VOLUME]
    assert list(result.valid["volume"]) == [0.0]


def test_infinite_volume_is_quarantined() -> None:
    assert reasons(validate_bars(frame(bar(minute=0), bar(minute=1, volume=math.inf)))) == [REASON_INFINITE_VOLUME]


def test_duplicate_timestamp_keeps_first_and_quarantines_later_copies() -> None:
    first = bar(minute=1, close=10.1)
    result = validate_bars(frame(bar(minute=0), first, bar(minute=1, close=10.2), bar(minute=1, close=10.3)))
    assert reasons(result) == [REASON_DUPLICATE, REASON_DUPLICATE]
    kept = result.valid.loc[result.valid["ts"] == first["ts"], "close"]
    assert list(kept) == [10.1]


def test_bad_first_copy_does_not_push_out_a_good_later_copy() -> None:
    result = validate_bars(frame(bar(minute=0, open=-1.0), bar(minute=0, close=10.4)))
    assert reasons(result) == [REASON_PRICE]
    assert list(result.valid["close"]) == [10.4]


def test_same_ts_in_different_symbols_is_not_a_duplicate() -> None:
    result = validate_bars(frame(bar("AAA", 0), bar("BBB", 0)))
    assert result.quarantined.empty
    assert len(result.valid) == 2


def test_out_of_order_timestamp_is_quarantined_per_symbol_in_input_order() -> None:
    df = frame(bar("AAA", 0), bar("AAA", 5), bar("BBB", 1), bar("AAA", 3), bar("AAA", 6), bar("BBB", 2))
    result = validate_bars(df)
    assert reasons(result) == [REASON_OUT_OF_ORDER]
    assert result.quarantined.loc[0, "ts"] == T0 + pd.Timedelta(minutes=3)
    assert len(result.valid) == 5


def test_row_with_several_problems_gets_the_first_reason_in_rule_order() -> None:
    df = frame(
        bar(minute=0),
        bar(minute=1, open=-1.0, high=0.5, volume=-3.0),  # price, high<low, bounds, volume
        bar(minute=2, high=8.0, volume=-3.0),  # high<low and negative volume
        bar(minute=0, volume=-1.0),  # negative volume beats duplicate
        bar(minute=3, volume=None),  # missing beats everything
    )
    assert reasons(validate_bars(df)) == [
        REASON_PRICE,
        REASON_HIGH_LOW,
        REASON_NEGATIVE_VOLUME,
        REASON_MISSING,
    ]


def test_mixed_frame_with_every_bad_kind_keeps_exactly_the_good_rows() -> None:
    good = [bar("AAA", m, close=10.0 + m / 100) for m in range(0, 10)] + [bar("BBB", m) for m in (0, 2, 4)]
    bad = [
        (bar("AAA", 20, close=None), REASON_MISSING),
        (bar("AAA", 21, low=0.0), REASON_PRICE),
        (bar("AAA", 22, high=8.0), REASON_HIGH_LOW),
        (bar("BBB", 23, close=11.5), REASON_BOUNDS),
        (bar("BBB", 24, volume=-1.0), REASON_NEGATIVE_VOLUME),
        (bar("BBB", 25, volume=np.inf), REASON_INFINITE_VOLUME),
        (bar("AAA", 3, close=99.0, high=99.0), REASON_DUPLICATE),
        (bar("BBB", 1), REASON_OUT_OF_ORDER),
    ]
    rows = [
        *good[:5],
        bad[0][0],
        *good[5:11],
        bad[1][0],
        bad[2][0],
        bad[6][0],
        *good[11:],
        *(b for b, _ in bad[3:6]),
    ]
    rows.append(bad[7][0])
    result = validate_bars(frame(*rows))

    expected_valid = frame(*good).sort_values(["symbol", "ts"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(result.valid, expected_valid, check_dtype=False)
    assert sorted(reasons(result)) == sorted(r for _, r in bad)
    assert len(result.valid) + len(result.quarantined) == len(rows)
    assert set(result.reason_counts()) == set(REASONS)


def test_quarantined_rows_keep_every_input_column_plus_reason() -> None:
    df = frame(bar(minute=0), bar(minute=1, volume=-1.0))
    df["vendor_id"] = ["x1", "x2"]
    result = validate_bars(df)
    assert list(result.quarantined.columns) == [*df.columns, "reason"]
    assert result.quarantined.loc[0, "vendor_id"] == "x2"


def test_non_utc_timestamps_are_converted_to_utc() -> None:
    df = frame(bar(minute=0))
    df["ts"] = df["ts"].dt.tz_convert("America/Toronto")
    result = validate_bars(df)
    assert str(result.valid["ts"].dtype) == "datetime64[ns, UTC]"
    assert result.valid.loc[0, "ts"] == T0


def test_missing_columns_raise_data_error_naming_them() -> None:
    with pytest.raises(DataError, match="volume"):
        validate_bars(frame(bar()).drop(columns=["volume"]))


def test_unparsed_string_timestamps_raise_data_error() -> None:
    df = frame(bar())
    df["ts"] = ["2024-01-02"]
    with pytest.raises(DataError, match="ts"):
        validate_bars(df)


def test_empty_frame_gives_empty_results() -> None:
    result = validate_bars(frame(bar()).iloc[0:0])
    assert result.valid.empty
    assert result.quarantined.empty
    assert "reason" in result.quarantined.columns
