"""Label cost bands priced per trade: a $5 share pays more in percent than a $500 one, as the fee schedule says."""

from __future__ import annotations

import numpy as np
import pytest
from models_bars import daily_bars

from papertrader.config.settings import CostSettings
from papertrader.features.labels import entry_prices, next_open_returns
from papertrader.models.data import LabelSpec, build_market, round_trip_cost, round_trip_costs


def test_the_band_of_a_5_dollar_and_a_500_dollar_share_differ_as_the_fee_schedule_says() -> None:
    costs = CostSettings()  # per share 0.005, min 1.00, cap 1%, slippage 5 bps, spread 2 bps (half paid)
    # $5: 2,000 shares; fills 5.003 / 4.997 (6 bps adverse) -> 12.00 of spread+slippage; 10.00 commission each way
    assert round_trip_cost(costs, 5.0) == pytest.approx((12.0 + 20.0) / 10_000)
    # $500: 20 shares; fills 500.30 / 499.70 -> 12.00; commission 0.10 per side lifts to the 1.00 minimum
    assert round_trip_cost(costs, 500.0) == pytest.approx((12.0 + 2.0) / 10_000)
    entry = np.array([[5.0, 500.0], [np.nan, 500.0]])
    band = LabelSpec().resolved_band(round_trip_costs(costs, entry, ("AAA", "BBB")))
    assert band[0, 0] == pytest.approx(0.0032) and band[0, 1] == pytest.approx(0.0014)
    assert np.isnan(band[1, 0])
    flat = CostSettings(commission_model="bps", commission_bps=1.0)  # a percentage fee: no price dependence
    assert round_trip_cost(flat, 5.0) == pytest.approx(round_trip_cost(flat, 500.0))


def test_a_wider_spec_band_or_cost_multiple_wins_over_the_cost() -> None:
    cost = np.array([[0.001, 0.004]])
    np.testing.assert_allclose(LabelSpec(band=0.003).resolved_band(cost), [[0.003, 0.004]])
    np.testing.assert_allclose(LabelSpec(band_cost_multiple=2.0).resolved_band(cost), [[0.002, 0.008]])


def test_build_market_prices_each_labels_band_at_its_entry_open() -> None:
    bars = daily_bars(("SPY", "IBM"), "2008-01-01", "2009-01-01")
    costs = CostSettings()
    m = build_market(bars, "1d", LabelSpec("direction", horizon=5), costs)
    entry = entry_prices(m.opens)
    for t, j in [(0, 0), (17, 1), (120, 0), (200, 1)]:
        assert m.cost[t, j] == pytest.approx(round_trip_cost(costs, round(entry[t, j], 2), symbol=m.symbols[j]))
        assert m.bands[t, j] == m.cost[t, j]  # default spec: band is exactly the cost
    np.testing.assert_array_equal(m.forward, next_open_returns(m.opens, 5))
    up = m.labels == 2
    assert np.all(m.forward[up] > m.bands[up]) and np.all(m.forward[m.labels == 0] <= m.bands[m.labels == 0])
    assert np.all(m.labels[-6:] == -1)  # the last h + 1 rows have no exit open
