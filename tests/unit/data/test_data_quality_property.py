"""Property tests of the quality rules over arbitrary (SYNTHETIC, hypothesis-generated) frames."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.data import validate_bars
from papertrader.data.quality import REASONS

T0 = pd.Timestamp("2020-03-02 14:30", tz="UTC")

# Few symbols and few distinct minutes, so duplicates and out-of-order rows are common.
symbols = st.sampled_from(["AAA", "BBB", "^GSPC", None, ""])
minutes = st.one_of(st.none(), st.integers(min_value=0, max_value=12))
prices = st.one_of(
    st.floats(min_value=0.5, max_value=2.0),
    st.sampled_from([0.0, -1.0, math.inf, -math.inf, math.nan]),
)
volumes = st.one_of(st.floats(min_value=0, max_value=1e6), st.sampled_from([-1.0, math.inf, math.nan]))
rows = st.tuples(symbols, minutes, prices, prices, prices, prices, volumes)


def to_frame(data: list[tuple[object, int | None, float, float, float, float, float]]) -> pd.DataFrame:
    df = pd.DataFrame(data, columns=["symbol", "minute", "open", "high", "low", "close", "volume"])
    minutes = pd.to_numeric(df["minute"], errors="coerce")  # None -> NaN -> NaT
    df["ts"] = T0 + pd.to_timedelta(minutes, unit="min")
    return df[["symbol", "ts", "open", "high", "low", "close", "volume"]].astype(
        {c: "float64" for c in ["open", "high", "low", "close", "volume"]}
    )


@settings(max_examples=120, deadline=None, database=None)
@given(st.lists(rows, max_size=40))
def test_every_row_is_either_valid_or_quarantined_and_valid_rows_are_clean(
    data: list[tuple[object, int | None, float, float, float, float, float]],
) -> None:
    df = to_frame(data)
    result = validate_bars(df)
    valid, bad = result.valid, result.quarantined

    assert len(valid) + len(bad) == len(df)
    assert set(bad["reason"]) <= set(REASONS)
    assert not valid.duplicated(["symbol", "ts"]).any()
    for _, g in valid.groupby("symbol"):
        assert g["ts"].is_monotonic_increasing
        assert g["ts"].is_unique
    if len(valid):
        o, h, lo, c, v = (valid[k] for k in ("open", "high", "low", "close", "volume"))
        assert (lo > 0).all() and (h >= lo).all() and (h >= o).all() and (h >= c).all()
        assert (lo <= o).all() and (lo <= c).all() and (v >= 0).all()
        assert valid[["ts", "open", "high", "low", "close", "volume"]].notna().all().all()
    # Nothing is invented: every valid row is one of the input rows.
    key = ["symbol", "ts", "open", "high", "low", "close", "volume"]
    merged = valid.merge(df.drop_duplicates(key), on=key, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()


@settings(max_examples=40, deadline=None, database=None)
@given(st.lists(st.tuples(st.sampled_from(["AAA", "BBB"]), st.integers(0, 500)), max_size=40, unique=True))
def test_clean_sorted_unique_bars_are_never_quarantined(keys: list[tuple[str, int]]) -> None:
    keys = sorted(keys)
    df = to_frame([(s, m, 1.0, 1.5, 0.5, 1.2, 10.0) for s, m in keys])
    result = validate_bars(df)
    assert result.quarantined.empty
    assert len(result.valid) == len(df)
