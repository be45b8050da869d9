"""The live bar's trailing volatility, computed for its own rows only, is the full computation's rows bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from papertrader.engine.growth import tail_start
from papertrader.engine.panel import Panel
from papertrader.risk.sizing import trailing_volatility, trailing_volatility_rows
from support import load_shared_daily


def test_rows_from_a_bounded_tail_equal_the_full_panel_bit_for_bit_on_ragged_real_bars() -> None:
    # QQQ has a months-long hole and GOOG starts in 2004: the per-symbol path and the vectorised one both run
    bars = pd.concat([load_shared_daily(s) for s in ("SPY", "QQQ", "GOOG", "IBM")], ignore_index=True)
    close = Panel.from_long(bars, "1d").prices.close
    window = 20
    full = trailing_volatility(close, window, 252.0)
    for r in range(1, len(close), 3):
        start = tail_start(close[: r + 1], r, window + 1)  # what Engine.extend hands over for the new row r
        got = trailing_volatility_rows(close[start : r + 1], r - start, window, 252.0)
        assert got.shape == (1, close.shape[1])
        assert np.array_equal(got[0], full[r], equal_nan=True), r
    several = trailing_volatility_rows(close[:900], 880, window, 252.0)
    assert np.array_equal(several, full[880:900], equal_nan=True), "several new rows at once"
