"""The lake's adjustment convention (raw + adj_factor, adjusted reads), provenance and as-of reads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from papertrader.core.clock import SimClock
from papertrader.data.store import ADJ_FACTOR, FETCHED_AT, Lake

T0 = datetime(2024, 6, 3, tzinfo=UTC)


def bars(symbol: str, days: list[str], close: list[float], factor: list[float] | None = None) -> pd.DataFrame:
    ts = pd.to_datetime(days).tz_localize("America/New_York").tz_convert("UTC")
    frame = pd.DataFrame(
        {
            "symbol": symbol,
            "ts": ts,
            "open": close,
            "high": [c * 1.01 for c in close],
            "low": [c * 0.99 for c in close],
            "close": close,
            "volume": 1000.0,
        }
    )
    if factor is not None:
        frame[ADJ_FACTOR] = factor
    return frame


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake", clock=SimClock(T0))


DAYS = ["2020-08-27", "2020-08-28", "2020-08-31", "2020-09-01"]
RAW = [500.0, 499.0, 129.0, 134.0]  # a 4:1 split between the 28th and the 31st
FACTOR = [0.25, 0.25, 1.0, 1.0]


def test_raw_prints_are_stored_and_reads_are_adjusted_unless_asked_for_raw(lake: Lake) -> None:
    lake.write_bars(bars("AAPL", DAYS, RAW, FACTOR), "1d", "yahoo")
    adjusted = lake.read_bars(["AAPL"], "1d")
    np.testing.assert_allclose(adjusted["close"], [125.0, 124.75, 129.0, 134.0])
    np.testing.assert_allclose(adjusted["volume"], [4000.0, 4000.0, 1000.0, 1000.0])
    assert list(adjusted.columns) == ["symbol", "ts", "open", "high", "low", "close", "volume"]
    np.testing.assert_allclose(lake.read_bars(["AAPL"], "1d", adjusted=False)["close"], RAW)
    assert list(lake.read_partition("AAPL", "1d")[ADJ_FACTOR]) == FACTOR


def test_bars_without_a_factor_read_as_stored_also_beside_factored_symbols(lake: Lake) -> None:
    lake.write_bars(bars("AAPL", DAYS, RAW, FACTOR), "1d", "yahoo")
    lake.write_bars(bars("BND", DAYS, [80.0, 80.1, 80.2, 80.3]), "1d", "bundled")
    both = lake.read_bars(None, "1d")
    np.testing.assert_allclose(both.loc[both["symbol"] == "BND", "close"], [80.0, 80.1, 80.2, 80.3])
    stored = pd.read_parquet(lake.bars_path("BND", "1d"))
    assert list(stored.columns) == ["symbol", "ts", "open", "high", "low", "close", "volume", "source", "ingested_at"]


def test_fetched_at_is_stored_with_every_written_row(lake: Lake) -> None:
    fetched = datetime(2024, 6, 2, 21, 30, tzinfo=UTC)
    lake.write_bars(bars("AAPL", DAYS, RAW, FACTOR), "1d", "alphavantage", fetched_at=fetched)
    stored = lake.read_partition("AAPL", "1d")
    assert set(stored[FETCHED_AT]) == {pd.Timestamp(fetched)} and set(stored["source"]) == {"alphavantage"}
    assert set(stored["ingested_at"]) == {pd.Timestamp(T0)}


def test_a_changed_factor_alone_is_a_correction_and_the_same_factor_is_unchanged(lake: Lake) -> None:
    lake.write_bars(bars("AAPL", DAYS, RAW, FACTOR), "1d", "yahoo")
    same = lake.write_bars(bars("AAPL", DAYS, RAW, FACTOR), "1d", "yahoo")
    assert (same.written, same.unchanged) == (0, 4)
    changed = lake.write_bars(bars("AAPL", DAYS[:1], RAW[:1], [0.2]), "1d", "yahoo")
    assert (changed.written, changed.unchanged) == (1, 0)


def test_rescaling_moves_every_known_factor_onto_the_new_basis(lake: Lake) -> None:
    lake.write_bars(bars("AAPL", DAYS, RAW, FACTOR), "1d", "yahoo")
    assert lake.rescale_adj_factor("AAPL", "1d", 0.5) == 4
    assert list(lake.read_partition("AAPL", "1d")[ADJ_FACTOR]) == [0.125, 0.125, 0.5, 0.5]
    assert lake.rescale_adj_factor("MISSING", "1d", 0.5) == 0


def test_non_positive_or_non_finite_factors_are_stored_as_unknown(lake: Lake) -> None:
    lake.write_bars(bars("AAPL", DAYS, RAW, [0.25, np.nan, -1.0, np.inf]), "1d", "yahoo")
    stored = lake.read_partition("AAPL", "1d")[ADJ_FACTOR]
    assert stored.iloc[0] == 0.25 and stored.iloc[1:].isna().all()


def test_as_of_reads_give_the_latest_complete_bar_per_symbol(lake: Lake) -> None:
    lake.write_bars(bars("AAPL", DAYS, RAW, FACTOR), "1d", "yahoo")
    lake.write_bars(bars("MSFT", DAYS[:2], [200.0, 201.0]), "1d", "yahoo")
    # at 15:00 New York on 2020-08-31 that day's bar is not complete: the 28th is the latest for both
    at = pd.Timestamp("2020-08-31 15:00", tz="America/New_York").to_pydatetime()
    got = lake.read_bars_asof(["AAPL", "MSFT"], "1d", at)
    assert list(got["symbol"]) == ["AAPL", "MSFT"]
    assert list(got["ts"].dt.tz_convert("America/New_York").dt.day) == [28, 28]
    np.testing.assert_allclose(got["close"], [124.75, 201.0])
    later = lake.read_bars_asof(None, "1d", pd.Timestamp("2020-09-02", tz="America/New_York").to_pydatetime())
    assert list(later["close"]) == [134.0, 201.0]
    early = lake.read_bars_asof(None, "1d", pd.Timestamp("2020-08-27", tz="America/New_York").to_pydatetime())
    assert early.empty


def test_as_of_reads_refuse_a_naive_time(lake: Lake) -> None:
    lake.write_bars(bars("AAPL", DAYS, RAW, FACTOR), "1d", "yahoo")
    from papertrader.core.errors import DataError

    with pytest.raises(DataError):
        lake.read_bars_asof(None, "1d", datetime(2020, 9, 2))
