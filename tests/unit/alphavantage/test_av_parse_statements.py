"""INCOME_STATEMENT and BALANCE_SHEET parsers, on hand-made bodies (no recording of these functions exists).

The bodies follow the vendor's documented shape: ``{"symbol", "annualReports": [...], "quarterlyReports":
[{"fiscalDateEnding", "reportedCurrency", "totalRevenue", ...}]}``, every value a string, newest first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from av_bodies import BAD_CALL, DAILY_CAP

from papertrader.core.errors import DataError, QuotaExhaustedError
from papertrader.data.adapters.alphavantage.fundamentals import FUNDAMENTAL_COLUMNS, parse_statement

INCOME = {
    "symbol": "IBM",
    "annualReports": [{"fiscalDateEnding": "2023-12-31", "reportedCurrency": "USD", "netIncome": "7502000000"}],
    "quarterlyReports": [
        {
            "fiscalDateEnding": "2024-09-30",
            "reportedCurrency": "USD",
            "totalRevenue": "14968000000",
            "netIncome": "-330000000",
        },
        {
            "fiscalDateEnding": "2024-06-30",
            "reportedCurrency": "USD",
            "totalRevenue": "None",
            "netIncome": "1834000000",
        },
    ],
}
BALANCE = {
    "symbol": "IBM",
    "annualReports": [],
    "quarterlyReports": [
        {
            "fiscalDateEnding": "2024-09-30",
            "totalAssets": "134339000000",
            "totalLiabilities": "110838000000",
            "totalShareholderEquity": "23349000000",
        }
    ],
}


def test_quarterly_statements_are_available_the_filing_lag_after_the_period_end_at_new_york_midnight() -> None:
    frame = parse_statement(INCOME, "IBM", "INCOME_STATEMENT", lag_days=45)
    assert tuple(frame.columns) == FUNDAMENTAL_COLUMNS
    assert list(frame["fiscal_date_ending"]) == [
        pd.Timestamp("2024-06-30", tz="UTC"),
        pd.Timestamp("2024-09-30", tz="UTC"),
    ]
    assert frame["available_at"].iloc[1] == pd.Timestamp("2024-11-14", tz="America/New_York").tz_convert("UTC")
    assert list(frame["report"]) == ["income_statement", "income_statement"]
    assert frame["net_income"].tolist() == [1834000000.0, -330000000.0]
    assert np.isnan(frame["total_revenue"].iloc[0])  # the vendor's "None"
    assert len(frame) == 2  # annual reports are not returned


def test_balance_sheet_maps_assets_liabilities_and_equity() -> None:
    row = parse_statement(BALANCE, "IBM", "BALANCE_SHEET", lag_days=90).iloc[0]
    assert (row["total_assets"], row["total_liabilities"], row["total_equity"]) == (134339e6, 110838e6, 23349e6)
    assert row["available_at"] == pd.Timestamp("2024-12-29", tz="America/New_York").tz_convert("UTC")


def test_statement_errors_are_project_errors_and_empty_answers_are_empty() -> None:
    with pytest.raises(DataError):
        parse_statement(BAD_CALL, "IBM", "INCOME_STATEMENT", 90)
    with pytest.raises(QuotaExhaustedError):
        parse_statement(DAILY_CAP, "IBM", "BALANCE_SHEET", 90)
    with pytest.raises(DataError, match="answered INCOME_STATEMENT for 'MSFT'"):
        parse_statement({**INCOME, "symbol": "MSFT"}, "IBM", "INCOME_STATEMENT", 90)
    with pytest.raises(DataError, match="not a JSON array"):
        parse_statement({"symbol": "IBM", "quarterlyReports": "oops"}, "IBM", "INCOME_STATEMENT", 90)
    with pytest.raises(DataError, match="lag"):
        parse_statement(INCOME, "IBM", "INCOME_STATEMENT", -1)
    with pytest.raises(DataError, match="not a statement"):
        parse_statement(INCOME, "IBM", "EARNINGS", 90)
    assert parse_statement({}, "IBM", "INCOME_STATEMENT", 90).empty
