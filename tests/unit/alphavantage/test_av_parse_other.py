"""Quote, indicator, fundamentals, insider, movers, news and macro parsers: recorded, hand-made and error bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
from av_bodies import (
    BAD_CALL,
    BAD_KEY,
    CPI,
    DAILY_CAP,
    DELAYED_QUOTE,
    EARNINGS,
    INSIDER,
    MACD,
    MACRO_CSV,
    MOVERS,
    NEWS,
    RSI,
    UNKNOWN_NOTICE,
    WTI,
    recorded,
)

from papertrader.core.errors import AuthError, DataError, QuotaExhaustedError, TemporaryError
from papertrader.data.adapters.alphavantage.fundamentals import (
    FUNDAMENTAL_COLUMNS,
    parse_earnings,
    parse_insider_transactions,
    parse_overview,
    parse_top_movers,
)
from papertrader.data.adapters.alphavantage.indicators import parse_indicator, parse_indicator_csv
from papertrader.data.adapters.alphavantage.macro import parse_macro, parse_macro_csv
from papertrader.data.adapters.alphavantage.news import NEWS_COLUMNS, parse_news
from papertrader.data.adapters.alphavantage.quote import QUOTE_COLUMNS, parse_global_quote

FETCHED = datetime(2020, 8, 1, 12, 0, tzinfo=UTC)


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


PARSERS = {
    "quote": lambda b: parse_global_quote(b, "IBM"),
    "indicator": lambda b: parse_indicator(b, "IBM", "RSI"),
    "overview": lambda b: parse_overview(b, "IBM", FETCHED),
    "earnings": lambda b: parse_earnings(b, "IBM"),
    "insider": lambda b: parse_insider_transactions(b, "IBM"),
    "movers": parse_top_movers,
    "news": parse_news,
    "macro": parse_macro,
}


def test_recorded_global_quote_becomes_one_typed_row() -> None:
    quote = parse_global_quote(recorded("global_quote.json"), "MSFT")
    assert tuple(quote.columns) == QUOTE_COLUMNS
    row = quote.iloc[0]
    assert row["symbol"] == "MSFT" and row["price"] == 112.13 and row["volume"] == 29062853.0
    assert row["change_pct"] == pytest.approx(-0.5852)
    assert row["latest_trading_day"] == _utc("2018-10-05 04:00")
    assert not row["delayed"]


def test_delayed_quote_key_is_recognised_and_flagged() -> None:
    quote = parse_global_quote(DELAYED_QUOTE, "IBM")
    assert quote["delayed"].iloc[0] and quote["price"].iloc[0] == 210.43


def test_unknown_symbol_quote_is_an_empty_frame() -> None:
    assert parse_global_quote({"Global Quote": {}}, "NOPE").empty


def test_recorded_sma_becomes_utc_values_with_end_labels_detected_from_the_16_00_bars() -> None:
    sma = parse_indicator(recorded("mock_technical_indicator.json"), "MSFT", "SMA")
    assert list(sma.columns) == ["symbol", "ts", "sma"]
    assert len(sma) == 237 and sma["ts"].is_monotonic_increasing
    # Each regular day runs 09:30 .. 16:00 (end labels): the 14:00 ET label is the 13:45-14:00 bar.
    assert sma["ts"].iloc[-1] == _utc("2017-12-20 18:45")
    assert sma["sma"].iloc[-1] == 85.244


def test_daily_rsi_and_macd_parse_every_value_column() -> None:
    rsi = parse_indicator(RSI, "IBM", "RSI")
    assert rsi["ts"].iloc[-1] == _utc("2024-10-29 04:00") and rsi["rsi"].iloc[-1] == 41.3712
    macd = parse_indicator(MACD, "IBM", "MACD")
    assert {"macd", "macd_hist", "macd_signal"} <= set(macd.columns)
    assert macd["macd_signal"].iloc[-1] == -0.7345


def test_indicator_csv_parses_like_json() -> None:
    frame = parse_indicator_csv("time,SMA\r\n2024-10-29,210.1\r\n2024-10-28,209.9\r\n", "IBM", "daily")
    assert list(frame["sma"]) == [209.9, 210.1]


def test_recorded_overview_is_one_fundamentals_row_available_from_the_fetch_time() -> None:
    frame = parse_overview(recorded("mock_company_overview.json"), "IBM", FETCHED)
    assert tuple(frame.columns) == FUNDAMENTAL_COLUMNS
    row = frame.iloc[0]
    assert row["available_at"] == pd.Timestamp(FETCHED)
    assert row["fiscal_date_ending"] == _utc("2020-06-30")
    assert row["pe_ratio"] == 14.1327 and row["roe"] == 0.4097 and row["eps"] == 8.811
    assert row["market_cap"] == 114234572800.0
    assert np.isnan(row["debt_to_equity"])


def test_overview_missing_markers_are_nan() -> None:
    body = {"Symbol": "XYZ", "LatestQuarter": "2024-06-30", "PERatio": "None", "EPS": "-", "PEGRatio": ""}
    row = parse_overview(body, "XYZ", FETCHED).iloc[0]
    assert np.isnan(row["pe_ratio"]) and np.isnan(row["eps"]) and np.isnan(row["peg_ratio"])


def test_earnings_rows_are_available_from_their_report_date_and_time() -> None:
    frame = parse_earnings(EARNINGS, "IBM")
    assert len(frame) == 3  # quarterly only; annual rows are not point-in-time
    by_fiscal = frame.set_index("fiscal_date_ending")
    post = by_fiscal.loc[_utc("2024-09-30")]
    assert post["available_at"] == _utc("2024-10-24 00:00")  # post-market: 20:00 EDT
    assert post["reported_eps"] == 2.3 and post["estimated_eps"] == 2.23
    assert post["surprise_pct"] == pytest.approx(3.139)
    pre = by_fiscal.loc[_utc("2024-06-30")]
    assert pre["available_at"] == _utc("2024-07-24 13:30")  # pre-market: 09:30 EDT
    unknown = by_fiscal.loc[_utc("2024-03-31")]
    assert unknown["available_at"] == _utc("2024-04-25 04:00")  # end of the report day
    assert np.isnan(unknown["estimated_eps"])


def test_insider_transactions_keep_blank_prices_as_nan() -> None:
    frame = parse_insider_transactions(INSIDER, "IBM")
    assert len(frame) == 2 and np.isnan(frame["share_price"].iloc[0])
    assert frame["shares"].iloc[1] == 500.0 and frame["acquisition_or_disposal"].tolist() == ["A", "D"]
    assert frame["transaction_date"].iloc[0] == _utc("2024-10-01")


def test_top_movers_are_tagged_by_list_with_percent_units() -> None:
    frame = parse_top_movers(MOVERS)
    assert frame["category"].tolist() == ["top_gainers", "top_losers", "most_actively_traded"]
    assert frame["change_pct"].iloc[0] == pytest.approx(57.6923)
    assert frame["last_updated"].iloc[0] == _utc("2024-10-29 20:16")


def test_news_has_one_row_per_ticker_with_string_scores_coerced() -> None:
    frame = parse_news(NEWS)
    assert tuple(frame.columns) == NEWS_COLUMNS
    assert len(frame) == 3
    ibm = parse_news(NEWS, ["IBM"])
    assert ibm["symbol"].tolist() == ["IBM", "IBM"]
    assert ibm["sentiment"].tolist() == [0.41, -0.3612]
    assert ibm["relevance"].tolist() == [0.9, 0.75]
    assert ibm["published_at"].tolist() == [_utc("2024-10-23 20:15"), _utc("2024-10-24 13:30")]
    assert ibm["source"].tolist() == ["Benzinga", "Reuters"]


def test_macro_series_are_reference_dated_oldest_first_with_dots_as_nan() -> None:
    cpi = parse_macro(CPI, "CPI")
    assert list(cpi.columns) == ["date", "value"]
    assert cpi["date"].tolist() == [_utc("2024-07-01"), _utc("2024-08-01"), _utc("2024-09-01")]
    assert np.isnan(cpi["value"].iloc[0]) and cpi["value"].iloc[-1] == 315.301
    assert cpi.attrs["unit"] == "index 1982-1984=100"
    assert parse_macro(WTI, "WTI")["value"].tolist() == [71.78, 67.38]
    assert parse_macro_csv(MACRO_CSV)["value"].tolist() == [4.2, 4.1]


@pytest.mark.parametrize("name", sorted(PARSERS))
@pytest.mark.parametrize(
    ("body", "error"),
    [(BAD_CALL, DataError), (BAD_KEY, AuthError), (DAILY_CAP, QuotaExhaustedError), (UNKNOWN_NOTICE, TemporaryError)],
)
def test_error_bodies_are_never_parsed_by_any_parser(name: str, body: dict[str, str], error: type) -> None:
    with pytest.raises(error):
        PARSERS[name](body)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_empty_answers_give_empty_frames(name: str) -> None:
    assert PARSERS[name]({}).empty


@pytest.mark.parametrize("name", sorted(PARSERS))
@pytest.mark.parametrize("body", [[1, 2], "text", 3.5, None])
def test_non_object_bodies_are_data_errors(name: str, body: Any) -> None:
    with pytest.raises(DataError):
        PARSERS[name](body)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("news", {"feed": ["not an object"]}),
        ("news", {"feed": {"title": "x"}}),
        ("earnings", {"symbol": "IBM", "quarterlyEarnings": "none"}),
        ("macro", {"data": [["2024-01-01", "1"]]}),
        ("movers", {"top_gainers": [1]}),
        ("insider", {"data": "nope"}),
        ("indicator", {"Meta Data": {"1: Symbol": "IBM"}, "Technical Analysis: RSI": [1]}),
        ("overview", {"Symbol": "MSFT", "PERatio": "1"}),
        ("earnings", {"symbol": "MSFT", "quarterlyEarnings": [{"reportedEPS": "1"}]}),
    ],
)
def test_wrong_shapes_or_symbols_are_data_errors(name: str, body: Any) -> None:
    with pytest.raises(DataError):
        PARSERS[name](body)
