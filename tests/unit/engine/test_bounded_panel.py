"""The bounded live panel's pieces: a dropped head frees the old buffers and leaves the tail's rows, times and
growth intact; the rows kept hold every symbol's look-back; a view refuses a window reaching a dropped row.

Synthetic prices (this unit test says so): what is under test is row arithmetic and memory layout.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from papertrader.engine.growth import Columns, drop_head, grow, own_bars_start, tail_start
from papertrader.engine.panel import Panel
from papertrader.features.view import FeatureView


def _bars(start: int, rows: int, symbols: tuple[str, ...] = ("A", "B")) -> pd.DataFrame:
    stamps = pd.date_range("2024-01-02 14:30", periods=start + rows, freq="5min", tz="UTC")[start:]
    return pd.DataFrame(
        [
            {
                "symbol": s,
                "ts": ts,
                "open": 10.0 + i,
                "high": 11.0 + i,
                "low": 9.0 + i,
                "close": 10.5 + i,
                "volume": 1.0,
            }
            for i, ts in enumerate(stamps, start=start)
            for s in symbols
        ]
    )


def test_a_dropped_head_leaves_the_tail_of_the_whole_panel_in_fresh_memory_that_grows_on() -> None:
    whole = Panel.from_long(_bars(0, 40), "5m")
    grown = Panel.from_long(_bars(0, 30), "5m").append(_bars(30, 2))
    kept = grown.drop_head(20)
    assert len(kept) == 12 and not np.shares_memory(kept.prices.close, grown.prices.close)
    more = kept.append(_bars(32, 8))
    for field in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(more.prices, field), getattr(whole.prices, field)[20:])
    assert more.ts.equals(whole.ts[20:])
    assert more.open_times == whole.open_times[20:] and more.close_times == whole.close_times[20:]
    assert not np.shares_memory(kept.close_times.ns, grown.close_times.ns)


def test_columns_and_grown_arrays_drop_their_head_and_keep_appending_in_place() -> None:
    cols = Columns({"x": np.arange(20.0).reshape(10, 2)})
    cols.drop(6)
    cols.append({"x": np.array([[20.0, 21.0]])})
    np.testing.assert_array_equal(cols.views()["x"], np.arange(12.0, 22.0).reshape(5, 2))
    cut = drop_head(np.arange(8.0).reshape(4, 2), 3)
    again = grow(cut, np.array([[8.0, 9.0]]))
    assert np.shares_memory(cut, again), "spare capacity behind the kept rows"
    np.testing.assert_array_equal(again, np.arange(6.0, 10.0).reshape(2, 2))


def test_the_rows_kept_hold_each_symbols_last_own_bars_so_a_tail_starts_at_the_same_row() -> None:
    close = np.random.default_rng(0).random((60, 3))
    close[:10, 2] = np.nan
    close[40:, 1] = np.nan  # B stopped trading: its look-back reaches further back
    depth = 8
    cut = own_bars_start(close, depth)
    assert cut == 32  # B's 8th last own bar
    close_next = np.vstack([close, np.ones((1, 3))])  # every symbol trades the next bar
    assert tail_start(close_next, 60, depth) >= cut
    assert tail_start(close_next[cut:], 60 - cut, depth) + cut == tail_start(close_next, 60, depth)
    assert own_bars_start(close, 100) == 0  # fewer own bars than the depth: all of them


def test_a_view_reads_by_cycle_number_and_refuses_a_window_before_the_first_kept_row() -> None:
    values = np.arange(20.0).reshape(10, 2)
    kept = {"x": values[4:]}
    full, cut = FeatureView({"x": values}, 9), FeatureView(kept, 9, base=4)
    assert cut.k == 9
    np.testing.assert_array_equal(cut.now("x"), full.now("x"))
    np.testing.assert_array_equal(cut.window("x", 6), full.window("x", 6))
    with pytest.raises(ValueError, match="panel_rows"):
        cut.window("x", 7)
