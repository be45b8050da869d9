"""Time series parsers: recorded and hand-made bodies become UTC bars at bar start; errors never parse."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from av_bodies import (
    BAD_CALL,
    BURST,
    DAILY,
    DAILY_ADJUSTED,
    DAILY_ADJUSTED_CSV,
    DAILY_CAP,
    DAILY_CSV,
    PREMIUM_ONLY,
    intraday_body,
    recorded,
    recorded_text,
)

from papertrader.core.errors import DataError, QuotaExhaustedError, RateLimitedError, TemporaryError
from papertrader.data.adapters.alphavantage.bars import (
    parse_bars_csv,
    parse_daily,
    parse_daily_adjusted,
    parse_intraday,
)
from papertrader.data.adapters.alphavantage.classify import PremiumEndpointError
from papertrader.data.adapters.alphavantage.csvbody import TruncatedBodyError
from papertrader.data.adapters.alphavantage.labels import detect_convention
from papertrader.data.quality import validate_bars
from papertrader.data.schema import BAR_COLUMNS, UTC_NS


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_recorded_intraday_becomes_oldest_first_utc_bars_that_pass_validation() -> None:
    bars = parse_intraday(recorded("mock_time_series.json"), "MSFT", "1min", fallback="start")
    assert tuple(bars.columns) == BAR_COLUMNS
    assert str(bars["ts"].dtype) == UTC_NS
    assert len(bars) == 100
    assert bars["ts"].is_monotonic_increasing
    # 2017-12-18 14:56 US/Eastern (EST, UTC-5) is 19:56 UTC; this window has no session edge, so the
    # fallback (start labels) applies.
    assert bars["ts"].iloc[-1] == _utc("2017-12-18 19:56")
    last = bars.iloc[-1]
    assert (last["open"], last["high"], last["low"], last["close"], last["volume"]) == (
        86.49,
        86.50,
        86.475,
        86.50,
        10494.0,
    )
    assert validate_bars(bars).quarantined.empty


def test_recorded_intraday_with_end_fallback_moves_every_bar_back_one_interval() -> None:
    start = parse_intraday(recorded("mock_time_series.json"), "MSFT", "1min", fallback="start")
    end = parse_intraday(recorded("mock_time_series.json"), "MSFT", "1min", fallback="end")
    assert (start["ts"] - end["ts"] == pd.Timedelta(minutes=1)).all()


def test_recorded_extended_csv_ends_at_20_00_so_labels_are_bar_ends() -> None:
    body = recorded_text("mock_time_series_extended.head.csv")
    bars = parse_bars_csv(body, "SPY", "1min", partial_ok=True)
    # The newest label, 2020-12-18 20:00 ET, closes the extended session: that bar started at 19:59 ET.
    assert bars["ts"].iloc[-1] == _utc("2020-12-19 00:59")
    assert bars["ts"].is_monotonic_increasing
    assert validate_bars(bars).quarantined.empty


def test_recorded_csv_head_is_cut_mid_row_which_is_a_truncation_unless_partial_is_allowed() -> None:
    body = recorded_text("mock_time_series_extended.head.csv")
    with pytest.raises(TruncatedBodyError):
        parse_bars_csv(body, "SPY", "1min")
    assert issubclass(TruncatedBodyError, TemporaryError)
    assert len(parse_bars_csv(body, "SPY", "1min", partial_ok=True)) == body.count("\n") - 1


def test_start_labelled_extended_day_is_detected_from_the_04_00_bar() -> None:
    body = intraday_body(["2024-10-29 19:55:00", "2024-10-29 09:30:00", "2024-10-29 04:00:00"])
    bars = parse_intraday(body, "IBM", "5min", fallback="end")
    assert list(bars["ts"]) == [_utc("2024-10-29 08:00"), _utc("2024-10-29 13:30"), _utc("2024-10-29 23:55")]


def test_end_labelled_extended_day_is_detected_from_the_20_00_bar() -> None:
    body = intraday_body(["2024-10-29 20:00:00", "2024-10-29 09:35:00", "2024-10-29 04:05:00"])
    bars = parse_intraday(body, "IBM", "5min", fallback="start")
    assert list(bars["ts"]) == [_utc("2024-10-29 08:00"), _utc("2024-10-29 13:30"), _utc("2024-10-29 23:55")]


def test_regular_hours_day_uses_the_regular_session_edges() -> None:
    end_day = intraday_body(["2017-12-08 16:00:00", "2017-12-08 15:45:00", "2017-12-08 09:45:00"], "15min")
    start_day = intraday_body(["2024-10-29 15:45:00", "2024-10-29 09:30:00"], "15min")
    assert parse_intraday(end_day, "IBM", "15min", fallback="start")["ts"].iloc[-1] == _utc("2017-12-08 20:45")
    assert parse_intraday(start_day, "IBM", "15min", fallback="end")["ts"].iloc[0] == _utc("2024-10-29 13:30")


def test_the_close_wins_so_an_old_partial_day_that_shows_only_the_open_stays_end_labelled() -> None:
    local = pd.Series(pd.to_datetime(["2017-12-19 09:30", "2017-12-19 16:00", "2017-12-20 09:30", "2017-12-20 14:00"]))
    assert detect_convention(local, fallback="start") == "end"


def test_the_open_alone_means_start_labels() -> None:
    local = pd.Series(pd.to_datetime(["2024-10-28 12:00", "2024-10-29 04:00", "2024-10-29 12:00"]))
    assert detect_convention(local, fallback="end") == "start"


def test_the_fallback_applies_only_when_no_label_sits_on_a_session_edge() -> None:
    local = pd.Series(pd.to_datetime(["2024-10-28 12:00", "2024-10-29 12:00"]))
    assert detect_convention(local, fallback="end") == "end"
    assert detect_convention(local, fallback="start") == "start"


def test_a_fixed_label_setting_overrides_detection() -> None:
    body = intraday_body(["2024-10-29 04:00:00"])
    assert parse_intraday(body, "IBM", "5min", label="end")["ts"].iloc[0] == _utc("2024-10-29 07:55")


def test_dst_is_handled_by_explicit_localisation_in_new_york() -> None:
    summer = parse_intraday(intraday_body(["2024-07-01 09:30:00"]), "IBM", "5min")
    winter = parse_intraday(intraday_body(["2024-12-02 09:30:00"]), "IBM", "5min")
    assert summer["ts"].iloc[0] == _utc("2024-07-01 13:30")
    assert winter["ts"].iloc[0] == _utc("2024-12-02 14:30")


def test_daily_bars_are_stamped_at_new_york_midnight_oldest_first() -> None:
    bars = parse_daily(DAILY, "IBM")
    assert list(bars["ts"]) == [_utc("2024-10-25 04:00"), _utc("2024-10-28 04:00"), _utc("2024-10-29 04:00")]
    assert bars["close"].iloc[-1] == 210.43
    assert validate_bars(bars).quarantined.empty


def test_daily_adjusted_keeps_raw_prices_and_adds_the_adjustment_factor() -> None:
    bars = parse_daily_adjusted(DAILY_ADJUSTED, "NVDA")
    first = bars.iloc[0]  # 2024-06-07, before NVDA's 10:1 split
    assert first["close"] == 1208.88
    assert first["adj_factor"] == pytest.approx(0.1)
    assert first["dividend_amount"] == 0.1
    assert bars["split_coefficient"].tolist() == [1.0, 10.0, 1.0]
    assert bars["adj_factor"].iloc[-1] == 1.0
    adjusted = bars["close"] * bars["adj_factor"]
    assert adjusted.iloc[0] == pytest.approx(120.888)


def test_daily_and_adjusted_csv_parse_like_their_json() -> None:
    daily = parse_bars_csv(DAILY_CSV, "IBM", "1d")
    assert list(daily["close"]) == [210.66, 210.43]
    assert daily["ts"].iloc[0] == _utc("2024-10-28 04:00")
    adjusted = parse_bars_csv(DAILY_ADJUSTED_CSV, "NVDA", "1d")
    assert adjusted["adj_factor"].iloc[0] == pytest.approx(0.1)


def test_wire_missing_values_become_nan_and_are_left_for_quarantine() -> None:
    body = intraday_body(["2024-10-29 10:00:00", "2024-10-29 09:55:00", "2024-10-29 09:50:00"])
    rows = body["Time Series (5min)"]
    rows["2024-10-29 10:00:00"]["1. open"] = "None"
    rows["2024-10-29 09:55:00"]["5. volume"] = "-"
    rows["2024-10-29 09:50:00"]["4. close"] = ""
    bars = parse_intraday(body, "IBM", "5min")
    assert int(np.isnan(bars[["open", "close", "volume"]].to_numpy()).sum()) == 3
    assert len(validate_bars(bars).quarantined) == 3


def test_unparsable_timestamps_become_nat_rows_not_exceptions() -> None:
    body = intraday_body(["2024-10-29 10:00:00", "not a time"])
    bars = parse_intraday(body, "IBM", "5min")
    assert bars["ts"].isna().sum() == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (BAD_CALL, DataError),
        (DAILY_CAP, QuotaExhaustedError),
        (BURST, RateLimitedError),
        (PREMIUM_ONLY, PremiumEndpointError),
    ],
)
def test_error_bodies_are_never_parsed_as_bars(body: dict[str, str], error: type[Exception]) -> None:
    for parse in (
        lambda b: parse_intraday(b, "IBM", "5min"),
        lambda b: parse_daily(b, "IBM"),
        lambda b: parse_daily_adjusted(b, "IBM"),
    ):
        with pytest.raises(error):
            parse(body)


@pytest.mark.parametrize("body", [{}, {"Meta Data": {"2. Symbol": "IBM"}}, {"Meta Data": {}, "Time Series (5min)": {}}])
def test_empty_answers_give_empty_bar_frames(body: dict[str, Any]) -> None:
    bars = parse_intraday(body, "IBM", "5min")
    assert bars.empty and tuple(bars.columns) == BAR_COLUMNS
    assert parse_daily_adjusted(body, "IBM").empty


@pytest.mark.parametrize(
    "body",
    [
        {"Meta Data": {"2. Symbol": "IBM"}, "Time Series (5min)": ["not", "an", "object"]},
        {"Meta Data": {"2. Symbol": "IBM"}, "Time Series (5min)": {"2024-10-29 10:00:00": "100.0"}},
        {"Meta Data": {"2. Symbol": "IBM"}, "Weekly Prices": {"2024-10-29": {"1. open": "1"}}},
        intraday_body(["2024-10-29 10:00:00"], interval="1min"),
        intraday_body(["2024-10-29 10:00:00"], symbol="MSFT"),
        [1, 2, 3],
        "Time Series",
    ],
)
def test_malformed_or_mismatched_bodies_are_data_errors(body: Any) -> None:
    with pytest.raises(DataError):
        parse_intraday(body, "IBM", "5min")


@pytest.mark.parametrize(
    "body",
    [
        "timestamp,open,high,low,close\r\n2024-10-29,1,2,0.5,1.5\r\n",
        "foo,bar\r\n1,2\r\n",
        "timestamp,open,high,low,close,volume\r\n2024-10-29,1,2\r\n2024-10-28,1,2,0.5,1.5,10\r\n",
        "",
    ],
)
def test_malformed_csv_is_a_data_error(body: str) -> None:
    with pytest.raises(DataError):
        parse_bars_csv(body, "IBM", "1d")


def test_unknown_interval_is_a_data_error() -> None:
    with pytest.raises(DataError, match="1min, 5min"):
        parse_intraday(intraday_body(["2024-10-29 10:00:00"]), "IBM", "2min")
