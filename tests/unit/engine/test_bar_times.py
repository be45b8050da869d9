"""Panel bar times kept as int64 nanoseconds give exactly the datetimes `bar_open_time` / `bar_close_time` give."""

from __future__ import annotations

import bisect

import pandas as pd
import pytest

from papertrader.domain.sessions import bar_close_time, bar_open_time
from papertrader.engine.panel import Panel, bar_times
from support import load_shared_daily


@pytest.mark.parametrize(("interval", "freq"), [("1m", "1min"), ("5m", "5min"), ("1h", "1h"), ("1d", "1D")])
def test_bulk_bar_times_equal_the_per_bar_functions_across_daylight_saving_changes(interval: str, freq: str) -> None:
    stamps = pd.date_range("2021-03-10 14:30", periods=2000, freq=freq, tz="UTC")  # spans March and November DST
    opens, closes = bar_times(pd.DatetimeIndex(stamps), interval)
    each = [t.to_pydatetime() for t in stamps]
    want_open = [bar_open_time(t, interval) for t in each]
    want_close = [bar_close_time(t, interval) for t in each]
    assert list(opens) == want_open and list(closes) == want_close
    assert [opens[k] for k in (0, 5, -1)] == [want_open[k] for k in (0, 5, -1)]
    assert all(a.tzinfo is b.tzinfo for a, b in zip(closes, want_close, strict=True))
    assert opens == tuple(want_open) and closes[3:9] == tuple(want_close[3:9])
    for probe in (want_open[0], want_open[777], want_close[1999], want_open[10] + pd.Timedelta(seconds=1)):
        assert opens.bisect_left(probe) == bisect.bisect_left(want_open, probe)


def test_a_real_daily_panel_opens_and_closes_at_the_regular_session_in_utc() -> None:
    bars = load_shared_daily("SPY").tail(600)
    panel = Panel.from_long(bars, "1d")
    each = [t.to_pydatetime() for t in panel.ts]
    assert list(panel.open_times) == [bar_open_time(t, "1d") for t in each]
    assert list(panel.close_times) == [bar_close_time(t, "1d") for t in each]
    k = panel.first_bar_opening_at_or_after(panel.open_times[300])
    assert k == 300 and panel.close_times.index(panel.close_times[451]) == 451
