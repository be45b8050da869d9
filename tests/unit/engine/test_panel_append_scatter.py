"""A live panel grown by appends of shuffled real bars equals the panel built from all of them at once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from papertrader.engine.panel import Panel
from support import load_shared_daily


def test_appending_shuffled_chunks_equals_the_panel_built_at_once_and_a_duplicate_bar_is_refused() -> None:
    bars = pd.concat([load_shared_daily(s) for s in ("SPY", "QQQ", "GOOG", "IBM")], ignore_index=True)
    whole = Panel.from_long(bars, "1d", ("SPY", "QQQ", "GOOG", "IBM"))
    stamps = pd.DatetimeIndex(bars["ts"])
    panel = Panel.from_long(bars[stamps < whole.ts[1700]], "1d", whole.symbols)
    rng = np.random.default_rng(0)
    i = 1700
    while i < 2300:  # one to three bars at a time, rows in any order, some symbols without a bar
        m = int(rng.integers(1, 4))
        chunk = bars[(stamps >= whole.ts[i]) & (stamps < whole.ts[i + m])]
        panel = panel.append(chunk.sample(frac=1.0, random_state=i))
        i += m
    for field in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(panel.prices, field), getattr(whole.prices, field)[: len(panel)])
    assert panel.ts.equals(whole.ts[: len(panel)])
    assert panel.close_times == whole.close_times[: len(panel)]
    twice = pd.concat([bars[stamps == whole.ts[i]]] * 2)
    with pytest.raises(ValueError, match="duplicate"):
        panel.append(twice)
