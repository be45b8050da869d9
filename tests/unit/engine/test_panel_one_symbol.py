"""A one-symbol panel built without pandas' pivot holds exactly what the pivot builds (real daily bars)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from papertrader.engine.panel import _FIELDS, Panel
from support import load_shared_daily


def _pivoted(bars: pd.DataFrame) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray]]:
    wide = bars.pivot(index="ts", columns="symbol", values=list(_FIELDS)).sort_index()
    return pd.DatetimeIndex(wide.index), {f: wide[f].to_numpy(dtype=np.float64) for f in _FIELDS}


@pytest.mark.parametrize("shuffled", [False, True])
def test_one_symbol_panel_equals_the_pivot(shuffled: bool) -> None:
    bars = load_shared_daily("SPY").tail(2000).reset_index(drop=True)
    bars.loc[5, "close"] = np.nan  # a missing print stays missing
    if shuffled:
        bars = bars.sample(frac=1.0, random_state=7)
    panel = Panel.from_long(bars, "1d")
    index, arrays = _pivoted(bars)
    assert panel.ts.equals(index) and panel.ts.name == index.name and panel.ts.dtype == index.dtype
    for f in _FIELDS:
        got = getattr(panel.prices, f)
        assert got.flags.c_contiguous and got.shape == (len(index), 1)
        assert np.array_equal(got, arrays[f], equal_nan=True)
        assert not np.shares_memory(got, bars[f].to_numpy())


def test_one_symbol_panel_refuses_a_stamp_given_twice_as_the_pivot_does() -> None:
    bars = load_shared_daily("SPY").tail(50).reset_index(drop=True)
    doubled = pd.concat([bars, bars.tail(1)], ignore_index=True)
    with pytest.raises(ValueError, match="duplicate entries"):
        doubled.pivot(index="ts", columns="symbol", values=list(_FIELDS))
    with pytest.raises(ValueError, match="duplicate entries"):
        Panel.from_long(doubled, "1d")
