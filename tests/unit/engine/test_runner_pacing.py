"""Replay speed: market time passes `speed` times faster than wall time, through an injected sleep."""

from __future__ import annotations

import pandas as pd

from papertrader.engine.panel import Panel
from papertrader.engine.runner import _pacer


def test_replay_waits_the_bar_gap_divided_by_speed(spy_daily: pd.DataFrame) -> None:
    panel = Panel.from_long(spy_daily.iloc[:5], "1d")
    waits: list[float] = []
    pace = _pacer(panel, 86_400.0, waits.append)
    assert pace is not None
    for k in range(1, 5):
        pace(k)
    gaps = [(panel.ts[k] - panel.ts[k - 1]).total_seconds() / 86_400 for k in range(1, 5)]
    assert waits == gaps and waits[:2] == [3.0, 1.0]  # Friday to Monday, then one day


def test_speed_zero_means_no_waiting(spy_daily: pd.DataFrame) -> None:
    assert _pacer(Panel.from_long(spy_daily.iloc[:5], "1d"), 0.0, None) is None
