"""Run caveats: the summary warns when history is too short to warm up or the window too short to annualise."""

from __future__ import annotations

import pandas as pd

from papertrader.engine.caveats import run_caveats


def _days(n: int, start: str = "2024-01-08") -> pd.DatetimeIndex:
    return pd.bdate_range(start, periods=n, tz="America/New_York").tz_convert("UTC")


def test_three_bars_are_too_few_to_warm_up_and_too_short_to_annualise() -> None:
    notes = run_caveats(_days(3), {"JUNK": 3}, warm_up=50)
    assert len(notes) == 2
    assert "warm up" in notes[0] and "JUNK 3" in notes[0] and "50" in notes[0]
    assert "too short to annualise" in notes[1] and "3 bar(s)" in notes[1]


def test_a_long_window_with_enough_history_has_no_caveat() -> None:
    assert run_caveats(_days(300), {"AAPL": 400, "IBM": 300}, warm_up=50) == ()


def test_only_the_symbol_short_of_history_is_named() -> None:
    (note,) = run_caveats(_days(300), {"AAPL": 400, "NEW": 12}, warm_up=50)
    assert "NEW 12" in note and "AAPL" not in note


def test_many_intraday_bars_over_a_few_days_are_still_too_short_to_annualise() -> None:
    hours = pd.date_range("2024-01-08 14:30", periods=60, freq="h", tz="UTC")
    (note,) = run_caveats(hours, {"SPY": 500}, warm_up=50)
    assert "too short to annualise" in note
