"""Growing live arrays: appends write only the new rows, never change an earlier view, and tails stay bounded.

Synthetic prices (this unit test says so): what is under test is memory layout and row arithmetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from papertrader.engine.growth import Columns, grow, tail_start
from papertrader.engine.panel import Panel


def _bars(start: int, rows: int, symbols: tuple[str, ...] = ("A", "B")) -> pd.DataFrame:
    stamps = pd.date_range("2024-01-02 14:30", periods=start + rows, freq="1min", tz="UTC")[start:]
    return pd.DataFrame(
        [
            {
                "symbol": s,
                "ts": ts,
                "open": 10.0 + i,
                "high": 11.0 + i,
                "low": 9.0 + i,
                "close": 10.5 + i,
                "volume": 100.0,
            }
            for i, ts in enumerate(stamps, start=start)
            for s in symbols
        ]
    )


def test_panel_append_writes_new_rows_into_spare_capacity_without_copying_the_old_ones() -> None:
    panel = Panel.from_long(_bars(0, 5), "1m")
    grown = panel.append(_bars(5, 1))  # first append: copied once into a doubled buffer
    again = grown.append(_bars(6, 1))
    assert np.shares_memory(grown.prices.close, again.prices.close), "the second append wrote in place"
    assert len(grown) == 6 and len(again) == 7
    assert again.prices.close[-1, 0] == 16.5 and grown.prices.close.shape[0] == 6
    assert again.close_times[:6] == grown.close_times and len(again.open_times) == 7
    whole = Panel.from_long(_bars(0, 7), "1m")
    for f in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(again.prices, f), getattr(whole.prices, f))
    assert again.open_times == whole.open_times and again.close_times == whole.close_times


def test_appending_twice_to_the_same_panel_gives_two_independent_panels() -> None:
    base = Panel.from_long(_bars(0, 5), "1m").append(_bars(5, 1))
    first = base.append(_bars(6, 1))
    other = _bars(6, 1).assign(close=99.0)
    second = base.append(other)  # the shared buffer's next row is taken: this one must copy
    assert first.prices.close[-1, 0] == 16.5 and second.prices.close[-1, 0] == 99.0


def test_grow_and_columns_keep_earlier_views_unchanged() -> None:
    values = np.zeros((3, 2))
    grown = grow(values, np.ones((1, 2)))
    more = grow(grown, np.full((2, 2), 2.0))
    assert grown.shape == (4, 2) and more.shape == (6, 2) and np.shares_memory(grown, more)
    assert np.array_equal(grown[-1], [1.0, 1.0]) and np.array_equal(more[-2:], np.full((2, 2), 2.0))
    cols = Columns({"x": np.zeros((3, 2))})
    before = cols.views()["x"]
    for k in range(40):
        cols.append({"x": np.full((1, 2), float(k))})
    assert before.shape == (3, 2) and not before.any()
    assert len(cols) == 43 and np.array_equal(cols.views()["x"][-1], [39.0, 39.0])


def test_tail_start_reads_only_the_rows_holding_the_window_of_symbols_with_a_new_bar() -> None:
    close = np.ones((10_000, 3))
    close[:, 2] = np.nan
    close[:50, 2] = 1.0  # a symbol that stopped trading long ago has no new bar: its past is not needed
    assert tail_start(close, 9_990, 61) == 9_990 - 61
    close[9_900:9_990:2, 1] = np.nan  # gaps: symbol B's 61 own bars reach further back
    assert tail_start(close, 9_990, 61) == 9_990 - 61 - 45
    assert tail_start(close[:100], 40, 61) == 0, "fewer own bars than the window: all of them"
