"""Company answers (OVERVIEW, EARNINGS, INCOME_STATEMENT, BALANCE_SHEET, INSIDER_TRANSACTIONS,
TOP_GAINERS_LOSERS) into domain frames.

The fundamentals frame (``FundamentalsSource``) has ``symbol, available_at (UTC), fiscal_date_ending
(midnight UTC of that date), report`` and the metric columns ``FUNDAMENTAL_METRICS`` (NaN where the report
has no such metric; OVERVIEW has no debt-to-equity, so ``debt_to_equity`` is NaN there).

``available_at`` is when the numbers became public, for point-in-time joins:

* OVERVIEW is a snapshot without a publication date: ``available_at`` is the FETCH time (the caller passes
  its clock's now), so a backtest never sees today's ratios in the past;
* EARNINGS uses each quarter's ``reportedDate`` (market-apis.md) refined by ``reportTime``: ``pre-market``
  -> 09:30 New York that day, ``post-market`` -> 20:00 (end of the extended session), unknown -> midnight
  at the end of that day; annual rows are not returned (the first is the year in progress);
* INCOME_STATEMENT and BALANCE_SHEET carry no report date at all: each quarterly report is available
  ``lag_days`` after its ``fiscalDateEnding`` (the caller's conservative filing lag, midnight New York);
  annual reports are not returned (the quarters hold the same numbers, earlier).

Percent-like values keep their vendor units (``surprisePercentage`` is in percent).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from papertrader.core.errors import DataError
from papertrader.data.adapters.alphavantage.classify import BodyKind, classify_payload, raise_unless_data
from papertrader.data.adapters.alphavantage.wire import (
    VENDOR_TZ,
    localize_utc,
    num,
    nums,
    parse_local_times,
    require_list,
    require_object,
    text,
)
from papertrader.data.schema import UTC_NS

#: Overview field -> metric column.
OVERVIEW_METRICS: Final = {
    "MarketCapitalization": "market_cap",
    "PERatio": "pe_ratio",
    "ForwardPE": "forward_pe",
    "PEGRatio": "peg_ratio",
    "EPS": "eps",
    "DilutedEPSTTM": "diluted_eps_ttm",
    "ReturnOnEquityTTM": "roe",
    "ReturnOnAssetsTTM": "roa",
    "ProfitMargin": "profit_margin",
    "OperatingMarginTTM": "operating_margin",
    "BookValue": "book_value",
    "PriceToBookRatio": "price_to_book",
    "DividendYield": "dividend_yield",
    "Beta": "beta",
    "RevenueTTM": "revenue_ttm",
    "QuarterlyEarningsGrowthYOY": "earnings_growth_yoy",
    "QuarterlyRevenueGrowthYOY": "revenue_growth_yoy",
    "SharesOutstanding": "shares_outstanding",
    "DebtToEquity": "debt_to_equity",
}
EARNINGS_METRICS: Final = ("reported_eps", "estimated_eps", "surprise", "surprise_pct")
#: Statement field -> metric column, per statement function.
STATEMENT_FIELDS: Final[Mapping[str, Mapping[str, str]]] = {
    "INCOME_STATEMENT": {"totalRevenue": "total_revenue", "netIncome": "net_income"},
    "BALANCE_SHEET": {
        "totalAssets": "total_assets",
        "totalLiabilities": "total_liabilities",
        "totalShareholderEquity": "total_equity",
    },
}
STATEMENT_METRICS: Final = tuple(c for fields in STATEMENT_FIELDS.values() for c in fields.values())
FUNDAMENTAL_METRICS: Final = (*OVERVIEW_METRICS.values(), *EARNINGS_METRICS, *STATEMENT_METRICS)
FUNDAMENTAL_COLUMNS: Final = ("symbol", "available_at", "fiscal_date_ending", "report", *FUNDAMENTAL_METRICS)

#: Hour (New York) an earnings report counts as public, by ``reportTime``; None: the end of the day.
_REPORT_HOURS: Final[Mapping[str, float]] = {"pre-market": 9.5, "post-market": 20.0}


def empty_fundamentals() -> pd.DataFrame:
    """A fundamentals frame with no rows and every column."""
    frame = pd.DataFrame({c: pd.Series([], dtype="float64") for c in FUNDAMENTAL_COLUMNS})
    frame["symbol"] = pd.Series([], dtype=object)
    frame["report"] = pd.Series([], dtype=object)
    frame["available_at"] = pd.Series([], dtype=UTC_NS)
    frame["fiscal_date_ending"] = pd.Series([], dtype=UTC_NS)
    return frame


def _dates_utc(values: list[object]) -> pd.Series:
    """Dates as midnight UTC (the project's reference-date convention for series and fiscal periods)."""
    local = parse_local_times(values)
    return pd.Series(local.dt.normalize().dt.tz_localize("UTC"), dtype=UTC_NS)


def _fundamentals_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    if not rows:
        return empty_fundamentals()
    frame = pd.DataFrame(rows)
    for column in FUNDAMENTAL_COLUMNS:
        if column not in frame.columns:
            frame[column] = np.nan
    frame = frame.loc[:, list(FUNDAMENTAL_COLUMNS)]
    for column in FUNDAMENTAL_METRICS:
        frame[column] = frame[column].astype("float64")
    for column in ("available_at", "fiscal_date_ending"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype(UTC_NS)
    return frame.reset_index(drop=True)


def parse_overview(payload: object, symbol: str, fetched_at: datetime) -> pd.DataFrame:
    """Parse OVERVIEW into one fundamentals row, available from the fetch time (no publication date)."""
    classified = classify_payload(payload)
    raise_unless_data(classified, f"overview {symbol}")
    if classified.kind is BodyKind.EMPTY:
        return empty_fundamentals()
    body = require_object(payload, "overview answer")
    declared = text(body.get("Symbol"))
    if declared and declared.upper() != symbol.upper():
        raise DataError(f"Alpha Vantage answered OVERVIEW for {declared!r} when {symbol!r} was asked for")
    if fetched_at.tzinfo is None:
        raise DataError("fetched_at must be timezone-aware")
    row: dict[str, Any] = {
        "symbol": symbol,
        "available_at": pd.Timestamp(fetched_at).tz_convert("UTC"),
        "fiscal_date_ending": _dates_utc([body.get("LatestQuarter")]).iloc[0],
        "report": "overview",
    }
    for field, column in OVERVIEW_METRICS.items():
        row[column] = num(body.get(field))
    return _fundamentals_frame([row])


def _available_at(dates: list[object], times: list[object]) -> pd.Series:
    local_days = parse_local_times(dates).dt.normalize()
    hours = np.array([_REPORT_HOURS.get((text(t) or "").lower(), 24.0) for t in times], dtype="float64")
    local = local_days + pd.to_timedelta(hours, unit="h")
    return localize_utc(local, VENDOR_TZ)


def parse_earnings(payload: object, symbol: str) -> pd.DataFrame:
    """Parse EARNINGS into one fundamentals row per reported quarter, available from its report time."""
    classified = classify_payload(payload)
    raise_unless_data(classified, f"earnings {symbol}")
    if classified.kind is BodyKind.EMPTY:
        return empty_fundamentals()
    body = require_object(payload, "earnings answer")
    declared = text(body.get("symbol"))
    if declared and declared.upper() != symbol.upper():
        raise DataError(f"Alpha Vantage answered EARNINGS for {declared!r} when {symbol!r} was asked for")
    quarters = [
        require_object(q, "quarterly earnings row")
        for q in require_list(body.get("quarterlyEarnings", []), "quarterlyEarnings")
    ]
    if not quarters:
        return empty_fundamentals()
    available = _available_at([q.get("reportedDate") for q in quarters], [q.get("reportTime") for q in quarters])
    fiscal = _dates_utc([q.get("fiscalDateEnding") for q in quarters])
    rows = [
        {
            "symbol": symbol,
            "available_at": available.iloc[i],
            "fiscal_date_ending": fiscal.iloc[i],
            "report": "earnings",
            "reported_eps": num(q.get("reportedEPS")),
            "estimated_eps": num(q.get("estimatedEPS")),
            "surprise": num(q.get("surprise")),
            "surprise_pct": num(q.get("surprisePercentage")),
        }
        for i, q in enumerate(quarters)
    ]
    out = _fundamentals_frame(rows)
    return out.sort_values("fiscal_date_ending", kind="stable", na_position="last").reset_index(drop=True)


def statement_available_at(fiscal: pd.Series, lag_days: float) -> pd.Series:
    """When a statement without a report date counts as public: midnight New York, lag_days after the period end."""
    days = pd.to_datetime(fiscal, utc=True).dt.tz_localize(None).dt.normalize() + pd.to_timedelta(lag_days, unit="D")
    return localize_utc(days.dt.normalize(), VENDOR_TZ) if len(days) else pd.Series([], dtype=UTC_NS)


def parse_statement(payload: object, symbol: str, function: str, lag_days: float) -> pd.DataFrame:
    """Parse INCOME_STATEMENT or BALANCE_SHEET quarterly reports, available lag_days after each period end."""
    function = function.upper()
    if function not in STATEMENT_FIELDS:
        raise DataError(f"not a statement function: {function!r} (use {', '.join(STATEMENT_FIELDS)})")
    if lag_days < 0:
        raise DataError(f"statement lag must be >= 0 days, got {lag_days}")
    classified = classify_payload(payload)
    raise_unless_data(classified, f"{function.lower()} {symbol}")
    if classified.kind is BodyKind.EMPTY:
        return empty_fundamentals()
    body = require_object(payload, f"{function.lower()} answer")
    declared = text(body.get("symbol"))
    if declared and declared.upper() != symbol.upper():
        raise DataError(f"Alpha Vantage answered {function} for {declared!r} when {symbol!r} was asked for")
    reports = [
        require_object(r, "quarterly report")
        for r in require_list(body.get("quarterlyReports", []), "quarterlyReports")
    ]
    if not reports:
        return empty_fundamentals()
    fiscal = _dates_utc([r.get("fiscalDateEnding") for r in reports])
    available = statement_available_at(fiscal, lag_days)
    fields = STATEMENT_FIELDS[function]
    rows = [
        {
            "symbol": symbol,
            "available_at": available.iloc[i],
            "fiscal_date_ending": fiscal.iloc[i],
            "report": function.lower(),
            **{column: num(r.get(field)) for field, column in fields.items()},
        }
        for i, r in enumerate(reports)
    ]
    out = _fundamentals_frame(rows)
    return out.sort_values("fiscal_date_ending", kind="stable", na_position="last").reset_index(drop=True)


INSIDER_COLUMNS: Final = (
    "symbol",
    "transaction_date",
    "executive",
    "executive_title",
    "security_type",
    "acquisition_or_disposal",
    "shares",
    "share_price",
)


def parse_insider_transactions(payload: object, symbol: str) -> pd.DataFrame:
    """Parse INSIDER_TRANSACTIONS: one row per transaction, dates at midnight UTC, prices NaN if blank."""
    classified = classify_payload(payload)
    raise_unless_data(classified, f"insider transactions {symbol}")
    body = require_object(payload, "insider answer") if classified.kind is BodyKind.DATA else {}
    rows = [require_object(r, "insider row") for r in require_list(body.get("data", []), "data")]
    return pd.DataFrame(
        {
            "symbol": pd.Series([text(r.get("ticker")) or symbol for r in rows], dtype=object),
            "transaction_date": _dates_utc([r.get("transaction_date") for r in rows]),
            "executive": pd.Series([text(r.get("executive")) for r in rows], dtype=object),
            "executive_title": pd.Series([text(r.get("executive_title")) for r in rows], dtype=object),
            "security_type": pd.Series([text(r.get("security_type")) for r in rows], dtype=object),
            "acquisition_or_disposal": pd.Series([text(r.get("acquisition_or_disposal")) for r in rows], dtype=object),
            "shares": nums(r.get("shares") for r in rows),
            "share_price": nums(r.get("share_price") for r in rows),
        },
        columns=list(INSIDER_COLUMNS),
    )


MOVERS_COLUMNS: Final = ("category", "ticker", "price", "change_amount", "change_pct", "volume", "last_updated")
_MOVER_LISTS: Final = ("top_gainers", "top_losers", "most_actively_traded")


def _last_updated(value: object) -> pd.Timestamp:
    raw = text(value) or ""
    for suffix in (" US/Eastern", " EST", " EDT", " ET"):
        if raw.endswith(suffix):
            raw = raw[: -len(suffix)]
    local = parse_local_times([raw])
    return pd.Timestamp(localize_utc(local, VENDOR_TZ).iloc[0])


def parse_top_movers(payload: object) -> pd.DataFrame:
    """Parse TOP_GAINERS_LOSERS into rows tagged top_gainers / top_losers / most_actively_traded."""
    classified = classify_payload(payload)
    raise_unless_data(classified, "top gainers/losers")
    body = require_object(payload, "movers answer") if classified.kind is BodyKind.DATA else {}
    updated = _last_updated(body.get("last_updated"))
    rows: list[dict[str, Any]] = []
    for category in _MOVER_LISTS:
        for item in require_list(body.get(category, []), category):
            entry = require_object(item, f"{category} row")
            rows.append(
                {
                    "category": category,
                    "ticker": text(entry.get("ticker")),
                    "price": num(entry.get("price")),
                    "change_amount": num(entry.get("change_amount")),
                    "change_pct": num(entry.get("change_percentage")),
                    "volume": num(entry.get("volume")),
                    "last_updated": updated,
                }
            )
    frame = pd.DataFrame(rows, columns=list(MOVERS_COLUMNS))
    for column in ("price", "change_amount", "change_pct", "volume"):
        frame[column] = frame[column].astype("float64")
    frame["last_updated"] = pd.to_datetime(frame["last_updated"], utc=True).astype(UTC_NS)
    return frame
