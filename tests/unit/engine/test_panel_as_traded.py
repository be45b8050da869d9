"""The panel's two price views, on SYNTHETIC bars built in each test: adjusted for signals, raw for trading."""

from __future__ import annotations

import numpy as np
import pandas as pd

from papertrader.data.schema import daily_stamp
from papertrader.engine.panel import Panel


def _bars() -> pd.DataFrame:
    days = pd.Series(pd.bdate_range("2021-03-01", periods=4))
    close = np.array([100.0, 102.0, 25.0, 26.0])
    return pd.DataFrame(
        {
            "symbol": "XYZ",
            "ts": daily_stamp(days),
            "open": close,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": [1e6, 1e6, 4e6, 4e6],
        }
    )


def test_without_factors_or_actions_the_panel_is_exactly_what_it_was() -> None:
    panel = Panel.from_long(_bars(), "1d")
    assert panel.as_traded is None and panel.traded is panel.prices
    np.testing.assert_array_equal(panel.bar(2).close, [25.0])


def test_raw_bars_with_a_factor_trade_raw_and_signal_adjusted() -> None:
    bars = _bars().assign(adj_factor=[0.25, 0.25, 1.0, 1.0])
    actions = pd.DataFrame({"symbol": ["XYZ"], "ts": [bars["ts"].iloc[2]], "split_ratio": [4.0], "dividend": [0.0]})
    panel = Panel.from_long(bars, "1d", actions=actions)
    assert panel.as_traded is not None
    np.testing.assert_array_equal(panel.prices.close[:, 0], [25.0, 25.5, 25.0, 26.0])
    np.testing.assert_array_equal(panel.prices.volume[:, 0], [4e6, 4e6, 4e6, 4e6])
    np.testing.assert_array_equal(panel.bar(1).close, [102.0])
    np.testing.assert_array_equal(panel.last_closes(1), [102.0])
    np.testing.assert_array_equal(panel.as_traded.splits[:, 0], [1.0, 1.0, 4.0, 1.0])


def test_an_action_on_the_first_bar_is_already_in_its_prices() -> None:
    bars = _bars().assign(adj_factor=1.0)
    actions = pd.DataFrame({"symbol": ["XYZ"], "ts": [bars["ts"].iloc[0]], "split_ratio": [2.0], "dividend": [0.0]})
    assert Panel.from_long(bars, "1d", actions=actions).as_traded is None
