"""TrendFollowing.decide_all is the per-cycle decide, all rows at once, and it never looks ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd

from papertrader.engine.panel import Panel
from papertrader.features.technical import TechnicalSpec, compute_technical
from papertrader.features.view import FeatureView
from papertrader.signals.base import PointInTime
from papertrader.signals.trend import TrendFollowing
from support import load_shared_daily


def _features() -> tuple[Panel, dict[str, np.ndarray]]:
    bars = pd.concat([load_shared_daily(s) for s in ("AAPL", "IBM", "SPY")], ignore_index=True)
    panel = Panel.from_long(bars, "1d")
    return panel, dict(compute_technical(panel.prices, TechnicalSpec(sma=(20, 50))))


def test_decide_all_row_k_equals_decide_at_cycle_k_on_real_bars() -> None:
    panel, features = _features()
    strategy = TrendFollowing(len(panel.symbols))
    assert isinstance(strategy, PointInTime)
    every = strategy.decide_all(features)
    assert every.shape == (len(panel), len(panel.symbols))
    for k in range(len(panel)):
        decision = strategy.decide(panel.close_times[k], FeatureView(features, k))
        assert np.array_equal(every[k], decision.weights), f"row {k} differs from decide at cycle {k}"
        assert decision.p_win is None and decision.payoff is None and not decision.events
    assert 0 < (every > 0).mean() < 1  # both states occur


def test_decide_all_rows_do_not_change_when_later_bars_are_cut_off() -> None:
    panel, features = _features()
    strategy = TrendFollowing(len(panel.symbols))
    every = strategy.decide_all(features)
    cut = len(panel) // 2
    prefix = strategy.decide_all({name: values[:cut] for name, values in features.items()})
    assert np.array_equal(prefix, every[:cut])
