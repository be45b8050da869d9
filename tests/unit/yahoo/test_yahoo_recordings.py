"""Every recorded Yahoo chart body parses into correct bars, timestamps and adjustment factors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from yahoo_fakes import FakeYahoo, json_response, make_source, recorded_body, utc

from papertrader.data.adapters.yahoo import adjust, parse_chart
from papertrader.data.schema import UTC_NS

AAPL_2020 = "chart-AAPL-2020-01-01-to-2020-01-03.json"
AAPL_SPLIT = "chart-AAPL-2020-08-31-to-2020-11-07.json"
AAPL_WEEKEND_1M = "chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json"
BTC = "chart-BTC-USD-2020-01-01-to-2020-01-03.json"
QQQ = "chart-QQQ-2020-01-01-to-2020-01-03.json"
WSU = "chart-WSU.DE-2023-08-04-to-2023-08-09.json"
MSFT = "historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json"
NVDA = "historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json"
ALL = [AAPL_2020, AAPL_SPLIT, AAPL_WEEKEND_1M, BTC, QQQ, WSU, MSFT, NVDA]


def bars_of(name: str, interval: str = "1d") -> pd.DataFrame:
    """Parse and adjust one recording."""
    payload = parse_chart(recorded_body(name))
    return adjust(payload.symbol, interval, [payload]).bars


def on(bars: pd.DataFrame, day: str) -> pd.Series:
    """The row of the daily bar of a session date."""
    stamp = pd.Timestamp(day, tz="America/New_York").tz_convert("UTC")
    row = bars.loc[bars["ts"] == stamp]
    assert len(row) == 1, f"no single bar on {day}"
    return row.iloc[0]


@pytest.mark.parametrize("name", ALL)
def test_every_recording_parses_into_lake_columns_with_utc_ts_and_positive_factor(name: str) -> None:
    interval = "1m" if "interval-1m" in name else "1d"
    bars = bars_of(name, interval)
    assert list(bars.columns) == ["symbol", "ts", "open", "high", "low", "close", "volume", "adj_factor"]
    assert str(bars["ts"].dtype) == UTC_NS
    assert (bars["adj_factor"] > 0).all()
    assert bars["ts"].is_monotonic_increasing


def test_aapl_daily_is_stamped_at_midnight_new_york_of_its_session_date() -> None:
    bars = bars_of(AAPL_2020)
    assert len(bars) == 1
    assert bars["ts"].iloc[0] == pd.Timestamp("2020-01-02 05:00", tz="UTC")
    assert bars["close"].iloc[0] == pytest.approx(75.0875015258789)
    assert bars["volume"].iloc[0] == 135480400


def test_qqq_daily_bar_parses_with_adjclose_consistent() -> None:
    bars = bars_of(QQQ)
    assert len(bars) == 1 and bars["symbol"].iloc[0] == "QQQ"
    assert bars["ts"].iloc[0] == pd.Timestamp("2020-01-02 05:00", tz="UTC")
    assert bars["adj_factor"].iloc[0] == 1.0


def test_weekend_1m_recording_without_timestamp_key_is_an_empty_frame_not_an_error() -> None:
    body = recorded_body(AAPL_WEEKEND_1M)
    assert "timestamp" not in body["chart"]["result"][0]
    fake = FakeYahoo(default=json_response(body))
    source, _ = make_source(fake, utc(2025, 2, 3, 12), events_through_now=False)
    bars = source.fetch_bars("AAPL", "1m", utc(2025, 2, 1), utc(2025, 2, 2))
    assert bars.empty
    assert "adj_factor" in bars.columns and str(bars["ts"].dtype) == UTC_NS
    assert fake.params(0)["interval"] == "1m"


def test_btc_usd_trades_every_day_in_utc_and_keeps_new_years_day() -> None:
    payload = parse_chart(recorded_body(BTC))
    assert payload.timezone == "UTC"
    bars = adjust(payload.symbol, "1d", [payload]).bars
    days = [ts.tz_convert("America/New_York").date().isoformat() for ts in bars["ts"]]
    assert days == ["2020-01-01", "2020-01-02", "2020-01-03"]


def test_wsu_de_sessions_come_from_the_berlin_timezone_in_the_payload() -> None:
    payload = parse_chart(recorded_body(WSU))
    assert payload.timezone == "Europe/Berlin"
    # 07:00 UTC is 09:00 in Berlin: the XETRA open of each session.
    assert [pd.Timestamp(t, unit="s", tz="UTC").tz_convert("Europe/Berlin").hour for t in payload.ts] == [9, 9, 9]
    bars = adjust(payload.symbol, "1d", [payload]).bars
    days = [ts.tz_convert("America/New_York").date().isoformat() for ts in bars["ts"]]
    assert days == ["2023-08-04", "2023-08-07", "2023-08-08"]


def test_nvda_split_day_adj_factor_steps_by_exactly_the_4_to_1_ratio() -> None:
    payload = parse_chart(recorded_body(NVDA))
    assert [(s.numerator, s.denominator) for s in payload.splits] == [(4.0, 1.0)]
    bars = bars_of(NVDA)
    before, after = on(bars, "2021-07-19"), on(bars, "2021-07-20")
    assert before["adj_factor"] / after["adj_factor"] == pytest.approx(0.25, rel=1e-9)
    # Raw prices jump at the split (Yahoo's split-adjusted close is multiplied back by 4) ...
    yahoo_close_0719 = payload.close[np.flatnonzero(payload.ts == 1626701400)[0]]
    assert before["close"] == pytest.approx(4 * yahoo_close_0719)
    assert before["volume"] == pytest.approx(payload.volume[np.flatnonzero(payload.ts == 1626701400)[0]] / 4)
    # ... and adjusted prices do not.
    assert before["close"] * before["adj_factor"] == pytest.approx(yahoo_close_0719, rel=1e-3)


def test_nvda_payload_lacking_dividend_events_is_caught_by_the_adjclose_check() -> None:
    payload = parse_chart(recorded_body(NVDA))
    assert payload.dividends == ()  # the request asked events=split only
    result = adjust(payload.symbol, "1d", [payload])
    assert result.check.ok is False and result.check.used == "adjclose"
    assert payload.adjclose is not None
    adjusted = result.bars["close"] * result.bars["adj_factor"]
    ratio = adjusted / payload.adjclose
    assert ratio.max() / ratio.min() == pytest.approx(1.0, abs=2e-6)


def test_msft_dividend_factor_is_one_minus_amount_over_previous_close() -> None:
    payload = parse_chart(recorded_body(MSFT))
    assert [d.amount for d in payload.dividends] == [0.56, 0.56, 0.56, 0.62]
    result = adjust(payload.symbol, "1d", [payload])
    bars = result.bars
    assert result.check.ok is True and result.check.used == "events"
    before, exdate = on(bars, "2021-02-16"), on(bars, "2021-02-17")
    assert before["adj_factor"] / exdate["adj_factor"] == pytest.approx(1 - 0.56 / before["close"], rel=1e-12)
    assert bars["adj_factor"].iloc[-1] == 1.0
    # raw x adj_factor reproduces Yahoo's adjclose up to one constant
    ratio = bars["close"] * bars["adj_factor"] / payload.adjclose
    assert ratio.max() / ratio.min() == pytest.approx(1.0, abs=2e-6)
    assert result.check.max_rel_error < 1e-5


def test_aapl_split_on_first_bar_and_dividend_on_last_bar() -> None:
    payload = parse_chart(recorded_body(AAPL_SPLIT))
    result = adjust(payload.symbol, "1d", [payload])
    bars = result.bars
    # the 2020-08-31 split is the first bar's own session: nothing before it to scale
    assert on(bars, "2020-08-31")["close"] == pytest.approx(129.0399932861328)
    assert bars["adj_factor"].iloc[-1] == 1.0
    assert bars["adj_factor"].iloc[-2] == pytest.approx(1 - 0.205 / bars["close"].iloc[-2])
    assert result.check.ok is True
    assert list(result.splits["numerator"]) == [4.0] and list(result.dividends["amount"]) == [0.205]


def test_source_fetches_recorded_daily_body_and_trims_to_the_asked_range() -> None:
    fake = FakeYahoo(default=json_response(recorded_body(MSFT)))
    source, _ = make_source(fake, utc(2022, 2, 1), events_through_now=False)
    start, end = utc(2021, 3, 1, 5), utc(2021, 4, 1, 4)
    data = source.fetch_chart("MSFT", "1d", start, end)
    assert len(fake.requests) == 1 and data.requests == 1
    params = fake.params(0)
    assert params["interval"] == "1d" and params["events"] == "div,splits"
    assert int(params["period1"]) == int(start.timestamp()) - 86400
    assert fake.requests[0].url.path.endswith("/v8/finance/chart/MSFT")
    assert data.bars["ts"].min() >= pd.Timestamp(start) and data.bars["ts"].max() < pd.Timestamp(end)
    assert len(data.bars) == 23  # March 2021 sessions
    assert data.timezone == "America/New_York" and data.currency == "USD"
