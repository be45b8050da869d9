"""The bundled offline source: real prices and macro series from installed packages, split-adjusted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from papertrader.core.errors import DataError
from papertrader.data import Lake
from papertrader.data.adapters.bundled import (
    BUNDLED_SERIES,
    BUNDLED_SYMBOLS,
    BundledSource,
    ImportReport,
    import_bundled,
)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, ImportReport]:
    lake = Lake(tmp_path_factory.mktemp("bundled") / "lake")
    return lake, import_bundled(lake)


def log_returns(lake: Lake, symbol: str) -> pd.Series:
    bars = lake.read_bars([symbol], "1d")
    return pd.Series(np.log(bars["close"].to_numpy())).diff().set_axis(bars["ts"].dt.tz_convert("America/New_York"))


def test_import_writes_every_bundled_symbol_and_series(imported: tuple[Lake, ImportReport]) -> None:
    lake, report = imported
    assert BUNDLED_SYMBOLS == ("AAPL", "FB", "GOOG", "IBM", "MSFT", "^GSPC", "^IXIC")
    assert lake.symbols("1d") == sorted(BUNDLED_SYMBOLS)
    assert lake.intervals() == ["1d"]
    assert sorted(lake.series_names()) == sorted(BUNDLED_SERIES)
    assert report.symbols == tuple(sorted(BUNDLED_SYMBOLS))
    assert sum(report.quarantined.values()) == 0
    assert report.written == {
        "AAPL": 3270,
        "FB": 196,
        "GOOG": 2148,
        "IBM": 3270,
        "MSFT": 3270,
        "^GSPC": 5031,
        "^IXIC": 5031,
    }


def test_gspc_covers_1999_to_2018_at_plausible_levels(imported: tuple[Lake, ImportReport]) -> None:
    lake, _ = imported
    gspc = lake.read_bars(["^GSPC"], "1d")
    assert len(gspc) == 5031
    assert gspc["ts"].iloc[0] == pd.Timestamp("1999-01-04 05:00", tz="UTC")
    assert gspc["ts"].iloc[-1] == pd.Timestamp("2018-12-31 05:00", tz="UTC")
    assert 600 < gspc["close"].min() < 700  # March 2009 low (676.53)
    assert 2900 < gspc["close"].max() < 3000  # September 2018 high


def test_daily_bars_are_stamped_at_new_york_midnight(imported: tuple[Lake, ImportReport]) -> None:
    lake, _ = imported
    local = lake.read_bars(None, "1d")["ts"].dt.tz_convert("America/New_York")
    assert (local == local.dt.normalize()).all()
    aapl = lake.read_bars(["AAPL"], "1d")
    assert aapl["ts"].iloc[-1] == pd.Timestamp("2013-03-01 05:00", tz="UTC")


def test_split_days_are_continuous_after_adjustment(imported: tuple[Lake, ImportReport]) -> None:
    lake, _ = imported
    aapl, msft = log_returns(lake, "AAPL"), log_returns(lake, "MSFT")
    # AAPL 2:1 on 2000-06-21 and 2005-02-28, MSFT 2:1 on 2003-02-18: raw closes fall ~50% on these days.
    for returns, day in ((aapl, "2000-06-21"), (aapl, "2005-02-28"), (msft, "2003-02-18")):
        assert abs(returns.loc[pd.Timestamp(day, tz="America/New_York")]) < 0.15, day
    assert msft.abs().max() < 0.5


def test_aapl_has_no_fake_split_day_only_its_real_2000_crash(imported: tuple[Lake, ImportReport]) -> None:
    lake, _ = imported
    moves = log_returns(lake, "AAPL").abs()
    # Apple really lost 52% on 2000-09-29 (profit warning, 132M shares traded); it stays.
    big = moves[moves >= 0.5]
    assert [str(d.date()) for d in big.index] == ["2000-09-29"]
    assert moves.drop(big.index).max() < 0.5


def test_adjustment_preserves_dollar_volume(imported: tuple[Lake, ImportReport]) -> None:
    from bokeh_sampledata import stocks

    lake, _ = imported
    raw = stocks.data[stocks.data["ticker"] == "AAPL"].sort_values("date")
    adj = lake.read_bars(["AAPL"], "1d")
    np.testing.assert_allclose(
        (adj["close"] * adj["volume"]).to_numpy(), (raw["close"] * raw["volume"]).to_numpy(), rtol=1e-9
    )
    np.testing.assert_allclose(adj["close"].to_numpy(), raw["adj_close"].to_numpy(), rtol=1e-12)


def test_macro_series_have_reference_dates_and_no_nans(imported: tuple[Lake, ImportReport]) -> None:
    lake, report = imported
    expected = {
        "CPILFESL": (743, "1957-01-01", "2018-11-01"),
        "DCOILWTICO": (8321, "1986-01-02", "2019-01-03"),  # 290 NaN holidays dropped
        "VIX": (1259, "2014-01-03", "2019-01-03"),  # 46 NaN days dropped
        "BRENT_M": (393, "1987-05-15", "2020-01-15"),
        "AAA": (1200, "1919-01-01", "2018-12-01"),
        "US_REALGDP_Q": (203, "1959-01-01", "2009-07-01"),
    }
    for name, (n, first, last) in expected.items():
        s = lake.read_series(name)
        assert (len(s), s["date"].iloc[0], s["date"].iloc[-1]) == (
            n,
            pd.Timestamp(first, tz="UTC"),
            pd.Timestamp(last, tz="UTC"),
        ), name
        assert s["value"].notna().all()
        assert report.series[name] == n
    quarters = lake.read_series("US_UNEMP_Q")["date"]
    assert set(quarters.dt.month) == {1, 4, 7, 10} and set(quarters.dt.day) == {1}


def test_importing_twice_leaves_the_same_lake(imported: tuple[Lake, ImportReport]) -> None:
    lake, _ = imported
    files = sorted(p for p in lake.root.rglob("*.parquet"))
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    again = import_bundled(lake)
    assert sum(again.written.values()) == 0
    assert sum(again.unchanged.values()) == 22216
    assert sorted(p for p in lake.root.rglob("*.parquet")) == files
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == before


def test_source_can_be_limited_and_refuses_unknown_symbols(tmp_path: Path) -> None:
    source = BundledSource(symbols=("^GSPC",))
    assert [(iv, sorted(df["symbol"].unique())) for iv, df in source.bars()] == [("1d", ["^GSPC"])]
    with pytest.raises(DataError, match="TSLA"):
        BundledSource(symbols=("TSLA",))
