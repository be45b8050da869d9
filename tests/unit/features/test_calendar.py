"""Session features from exchange_calendars on real bar stamps: half days, holidays, XNYS vs XTSE."""

from __future__ import annotations

import numpy as np
import pandas as pd
from feature_data import load_bars, ny

from papertrader.features.calendar import CalendarSpec, compute_calendar, prepare_earnings


def _one(ts: pd.DatetimeIndex, interval: str, symbols: tuple[str, ...] = ("SPY",)) -> dict[str, np.ndarray]:
    return compute_calendar(ts, interval, symbols, CalendarSpec())


def test_thanksgiving_week_on_real_hourly_bars_half_day_and_holiday_ahead() -> None:
    bars = load_bars("1h", ("SPY",))
    ts = pd.DatetimeIndex(bars["ts"])
    week = ts[(ts >= ny("2019-11-27 00:00")) & (ts < ny("2019-11-30 00:00"))]
    f = {k: v[:, 0] for k, v in _one(week, "1h").items()}
    wed, fri = slice(0, 7), slice(7, 11)  # Wednesday's 7 bars, Friday's 4 (the market closes at 13:00)
    assert (f["cal_half_day"][wed] == 0).all() and (f["cal_half_day"][fri] == 1).all()
    assert (f["cal_session_minutes"][wed] == 390).all() and (f["cal_session_minutes"][fri] == 210).all()
    assert list(f["cal_minutes_since_open"][fri]) == [30, 90, 150, 210]  # the 09:00 stamp covers 09:30-10:00
    assert list(f["cal_minutes_to_close"][fri]) == [180, 120, 60, 0]
    assert (f["cal_regular_hours"] == 1).all()
    assert (f["cal_holiday_ahead"][wed] == 1).all() and (f["cal_days_to_next_session"][wed] == 2).all()
    assert (f["cal_holiday_ahead"][fri] == 0).all() and (f["cal_days_to_next_session"][fri] == 3).all()
    assert (f["cal_days_since_prev_session"][fri] == 2).all()
    assert (f["cal_dow"][wed] == 2).all() and (f["cal_dow"][fri] == 4).all()
    assert (f["cal_sessions_to_month_end"][wed] == 1).all() and (f["cal_sessions_to_month_end"][fri] == 0).all()


def test_extended_hours_minute_bars_sit_outside_the_regular_session() -> None:
    bars = load_bars("1m", ("SPY",), "{symbol}-trade-2013-10.csv.gz")
    ts = pd.DatetimeIndex(bars["ts"])
    f = {k: v[:, 0] for k, v in _one(ts, "1m").items()}
    open_bar = np.flatnonzero(ts == ny("2013-10-04 09:30"))[0]
    assert f["cal_minutes_since_open"][open_bar] == 1 and f["cal_minutes_to_close"][open_bar] == 389
    local = ts.tz_convert("America/New_York")
    minutes = local.hour * 60 + local.minute
    inside = (minutes >= 9 * 60 + 30) & (minutes < 16 * 60)
    np.testing.assert_array_equal(f["cal_regular_hours"], inside.astype(float))
    assert (f["cal_minutes_since_open"][~inside & (minutes < 600)] <= 0).all()


def test_toronto_listings_follow_the_tsx_calendar_around_canada_day() -> None:
    ts = pd.DatetimeIndex([ny("2019-06-28 15:00"), ny("2019-07-02 10:00")])
    f = _one(ts, "1h", ("SHOP.TO", "SPY"))
    assert list(f["cal_days_to_next_session"][0]) == [4, 3]  # TSX closed on Monday July 1, NYSE open
    assert list(f["cal_holiday_ahead"][0]) == [1, 0]
    assert list(f["cal_days_since_prev_session"][1]) == [4, 1]
    assert CalendarSpec().exchange("ABC.V") == "XTSX"


def test_days_to_earnings_uses_a_date_only_from_the_day_after_it_was_announced() -> None:
    dates = pd.DataFrame(
        {
            "symbol": ["AAPL", "AAPL"],
            "report_date": ["2019-10-30", "2020-01-28"],
            "announced_at": [pd.Timestamp("2019-10-01 12:00", tz="UTC"), pd.Timestamp("2020-01-02 21:00", tz="UTC")],
        }
    )
    ts = pd.DatetimeIndex(
        [ny("2019-10-29 10:00"), ny("2019-12-31 10:00"), ny("2020-01-02 15:00"), ny("2020-01-03 10:00")]
    )
    spec = CalendarSpec(earnings=True)
    got = compute_calendar(ts, "1h", ("AAPL",), spec, prepare_earnings(dates, ("AAPL",)))["cal_days_to_earnings"][:, 0]
    np.testing.assert_array_equal(got, [1, np.nan, np.nan, 25])
    known = dates.drop(columns="announced_at")  # a vendor calendar of scheduled dates: known ahead
    got = compute_calendar(ts, "1h", ("AAPL",), spec, prepare_earnings(known, ("AAPL",)))["cal_days_to_earnings"][:, 0]
    np.testing.assert_array_equal(got, [1, 28, 26, 25])
