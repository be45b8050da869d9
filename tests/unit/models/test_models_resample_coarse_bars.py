"""Coarser bars for the GRU aggregate correctly and become usable only after their last fine bar closes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from models_bars import daily_bars

from papertrader.domain.sessions import bar_close_time
from papertrader.features.times import decision_times
from papertrader.models.resample import coarser, resample_bars


def test_weekly_bars_are_stamped_at_the_last_session_and_aggregate_ohlcv() -> None:
    bars = daily_bars(("SPY",), "2008-01-01", "2008-03-01")
    weekly, interval = resample_bars(bars, "1d")
    assert interval == "1d"
    first_week = bars.iloc[:3]  # 2008-01-02 (Wed) .. 2008-01-04 (Fri)
    row = weekly.iloc[0]
    assert row["ts"] == first_week["ts"].iloc[-1]
    assert row["open"] == first_week["open"].iloc[0] and row["close"] == first_week["close"].iloc[-1]
    assert row["high"] == first_week["high"].max() and row["low"] == first_week["low"].min()
    assert row["volume"] == first_week["volume"].sum()
    decided = decision_times(pd.DatetimeIndex(weekly["ts"]), interval)
    for i, week in enumerate(weekly.itertuples()):
        members = bars[
            (bars["ts"] <= week.ts)
            & (bars["ts"] > (weekly["ts"].iloc[i - 1] if i else bars["ts"].min() - pd.Timedelta(days=1)))
        ]
        last_close = max(bar_close_time(t.to_pydatetime(), "1d") for t in members["ts"])
        assert decided[i] >= last_close


def test_intraday_buckets_close_no_earlier_than_their_last_minute() -> None:
    start = pd.Timestamp("2013-10-07 13:30", tz="UTC")
    ts = pd.date_range(start, periods=23, freq="1min")
    prices = np.linspace(100.0, 101.0, ts.size)
    bars = pd.DataFrame(
        {
            "symbol": "SPY",
            "ts": ts,
            "open": prices,
            "high": prices + 0.1,
            "low": prices - 0.1,
            "close": prices,
            "volume": 10.0,
        }
    )
    coarse, interval = resample_bars(bars, "1m")
    assert interval == "5m" and coarser("1m") == ("5m", "5m")
    assert len(coarse) == 5 and coarse["volume"].tolist() == [50.0, 50.0, 50.0, 50.0, 30.0]
    decided = decision_times(pd.DatetimeIndex(coarse["ts"]), "5m")
    for i in range(len(coarse)):
        members = ts[(ts >= coarse["ts"].iloc[i]) & (ts < coarse["ts"].iloc[i] + pd.Timedelta(minutes=5))]
        assert decided[i] >= members.max() + pd.Timedelta(minutes=1)
