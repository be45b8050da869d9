"""Hand-made Alpha Vantage bodies for the functions shared/data has no recording of (the fake serves them).

Wire formats as market-apis.md and the vendor's documentation give them: every value a string, lists newest
first (news oldest first when ``sort=EARLIEST``), missing values ``"None"`` (company data) or ``"."`` (macro).
The NUMBERS are deterministic test values derived from a hash of (symbol, date), not market data: they let
the collector, the lake, the point-in-time joins and training run end to end, nothing more.

* EARNINGS / INCOME_STATEMENT / BALANCE_SHEET: quarters ending 2016-03-31 onwards whose report date is before
  the fake's clock; ``reportedDate`` 25 days after the quarter end (moved off weekends), ``reportTime``
  alternating ``pre-market`` / ``post-market``; statements carry no report date, as at the vendor.
* NEWS_SENTIMENT: one article every two days at 10:00 New York mentioning the symbol (and MSFT), in
  [time_from, time_to], sorted and cut at ``limit`` as asked.
* Macro: monthly series from 2010-01-01, daily series (treasury yields, WTI, BRENT with ``interval=daily``)
  on weekdays from 2015-01-01, up to the fake's clock; one ``"."`` (missing) value per series.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

NEW_YORK = ZoneInfo("America/New_York")
FIRST_QUARTER = "2016-03-31"
REPORT_DELAY_DAYS = 25
MACRO_LEVELS = {
    "CPI": 240.0,
    "FEDERAL_FUNDS_RATE": 1.5,
    "TREASURY_YIELD": 2.2,
    "UNEMPLOYMENT": 5.0,
    "NONFARM_PAYROLL": 145000.0,
    "WTI": 60.0,
    "BRENT": 65.0,
}
MACRO_NAMES = {
    "CPI": ("Consumer Price Index for all Urban Consumers", "index 1982-1984=100"),
    "FEDERAL_FUNDS_RATE": ("Effective Federal Funds Rate", "percent"),
    "TREASURY_YIELD": ("Treasury Yield", "percent"),
    "UNEMPLOYMENT": ("Unemployment Rate", "percent"),
    "NONFARM_PAYROLL": ("Total Nonfarm Payroll", "thousands of persons"),
    "WTI": ("Crude Oil Prices: West Texas Intermediate (WTI) - Cushing, Oklahoma", "dollars per barrel"),
    "BRENT": ("Crude Oil Prices: Brent - Europe", "dollars per barrel"),
}


def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts (the test values' only source)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    return int(digest[:8], 16) / 0x1_0000_0000


def _weekday(day: pd.Timestamp) -> pd.Timestamp:
    while day.weekday() >= 5:
        day += pd.Timedelta(days=1)
    return day


def quarters(now: datetime) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """(fiscal end, reported date, report time) of the quarters reported before `now`, newest first."""
    today = pd.Timestamp(now.astimezone(NEW_YORK).date())
    out = []
    for i, end in enumerate(pd.date_range(FIRST_QUARTER, today, freq="QE")):
        reported = _weekday(end + pd.Timedelta(days=REPORT_DELAY_DAYS))
        if reported < today:
            out.append((end, reported, "pre-market" if i % 2 else "post-market"))
    return out[::-1]


def earnings(symbol: str, now: datetime) -> dict[str, Any]:
    """An EARNINGS body."""
    rows = []
    for end, reported, when in quarters(now):
        eps = 1.0 + 2.0 * unit(symbol, end, "eps")
        est = eps * (0.9 + 0.2 * unit(symbol, end, "est"))
        rows.append(
            {
                "fiscalDateEnding": f"{end:%Y-%m-%d}",
                "reportedDate": f"{reported:%Y-%m-%d}",
                "reportedEPS": f"{eps:.2f}",
                "estimatedEPS": f"{est:.2f}",
                "surprise": f"{eps - est:.2f}",
                "surprisePercentage": f"{(eps - est) / est * 100:.4f}",
                "reportTime": when,
            }
        )
    annual = [{"fiscalDateEnding": r["fiscalDateEnding"], "reportedEPS": r["reportedEPS"]} for r in rows[::4]]
    return {"symbol": symbol, "annualEarnings": annual, "quarterlyEarnings": rows}


def statement(function: str, symbol: str, now: datetime) -> dict[str, Any]:
    """An INCOME_STATEMENT or BALANCE_SHEET body (quarterly and annual reports, no report date)."""
    reports = []
    for end, _, _ in quarters(now):
        shares = 1e9
        eps = 1.0 + 2.0 * unit(symbol, end, "eps")
        if function == "INCOME_STATEMENT":
            row = {
                "totalRevenue": str(int(shares * eps * (6 + 2 * unit(symbol, end, "rev")))),
                "netIncome": str(int(shares * eps)),
                "grossProfit": "None",
            }
        else:
            assets = shares * 100 * (1 + unit(symbol, end, "assets"))
            liabilities = assets * (0.4 + 0.4 * unit(symbol, end, "liab"))
            row = {
                "totalAssets": str(int(assets)),
                "totalLiabilities": str(int(liabilities)),
                "totalShareholderEquity": str(int(assets - liabilities)),
                "commonStockSharesOutstanding": str(int(shares)),
            }
        reports.append({"fiscalDateEnding": f"{end:%Y-%m-%d}", "reportedCurrency": "USD", **row})
    return {"symbol": symbol, "annualReports": reports[::4], "quarterlyReports": reports}


def _compact(value: str | None, default: pd.Timestamp) -> pd.Timestamp:
    if not value:
        return default
    return pd.Timestamp(datetime.strptime(value, "%Y%m%dT%H%M")).tz_localize(NEW_YORK)


def news(params: dict[str, str], now: datetime) -> dict[str, Any]:
    """A NEWS_SENTIMENT body for one ticker over [time_from, time_to], sorted and limited as asked."""
    symbol = params.get("tickers", "").split(",")[0]
    now_local = pd.Timestamp(now).tz_convert(NEW_YORK)
    lo = _compact(params.get("time_from"), pd.Timestamp("2015-01-01", tz=NEW_YORK))
    hi = min(_compact(params.get("time_to"), now_local), now_local)
    days = pd.date_range(lo.normalize(), hi.normalize(), freq="2D")
    stamps = [d + pd.Timedelta(hours=10) for d in days]
    stamps = [t for t in stamps if lo <= t <= hi]
    if params.get("sort", "LATEST") != "EARLIEST":
        stamps = stamps[::-1]
    stamps = stamps[: int(params.get("limit", "50"))]
    feed = []
    for t in stamps:
        score = round(2 * unit(symbol, t, "sent") - 1, 4) * 0.8
        feed.append(
            {
                "title": f"{symbol} news of {t:%Y-%m-%d}",
                "url": f"https://news.invalid/{symbol}/{t:%Y%m%d}",
                "time_published": f"{t:%Y%m%dT%H%M%S}",
                "source": "Test Wire",
                "topics": [{"topic": "Earnings", "relevance_score": "0.5"}],
                "overall_sentiment_score": score,
                "overall_sentiment_label": "Neutral",
                "ticker_sentiment": [
                    {
                        "ticker": symbol,
                        "relevance_score": f"{0.3 + 0.7 * unit(symbol, t, 'rel'):.6f}",
                        "ticker_sentiment_score": f"{score:.6f}",
                        "ticker_sentiment_label": "Neutral",
                    },
                    {
                        "ticker": "MSFT",
                        "relevance_score": "0.1",
                        "ticker_sentiment_score": "0.05",
                        "ticker_sentiment_label": "Neutral",
                    },
                ],
            }
        )
    return {"items": str(len(feed)), "feed": feed}


def macro(function: str, params: dict[str, str], now: datetime) -> dict[str, Any]:
    """A macro body ``{name, interval, unit, data: [{date, value}]}``, newest first."""
    today = pd.Timestamp(now.astimezone(NEW_YORK).date())
    interval = params.get("interval") or "monthly"
    if interval == "daily":
        dates = pd.bdate_range("2015-01-01", today - pd.Timedelta(days=1))
    else:
        dates = pd.date_range("2010-01-01", today - pd.offsets.MonthBegin(1), freq="MS")
    level = MACRO_LEVELS[function] * (1.0 + 0.3 * (unit(function, params.get("maturity"), "level") - 0.5))
    data = []
    for i, day in enumerate(dates):
        drift = 1.0 + 0.0005 * i + 0.02 * (unit(function, params.get("maturity"), day) - 0.5)
        value = "." if i == len(dates) // 2 else f"{level * drift:.4f}"
        data.append({"date": f"{day:%Y-%m-%d}", "value": value})
    name, unit_name = MACRO_NAMES[function]
    return {"name": name, "interval": interval, "unit": unit_name, "data": data[::-1]}


def answer(function: str, params: dict[str, str], now: datetime, *, known: bool, symbol: str) -> Any | None:
    """The hand-made body for a function, or None when the fake has none (unknown symbol: the caller's error)."""
    if function in MACRO_LEVELS:
        return macro(function, params, now)
    if function == "NEWS_SENTIMENT":
        ticker = params.get("tickers", "").split(",")[0]
        return news(params, now) if ticker else {"items": "0", "feed": []}
    if not known:
        return None
    if function == "EARNINGS":
        return earnings(symbol, now)
    if function in ("INCOME_STATEMENT", "BALANCE_SHEET"):
        return statement(function, symbol, now)
    return None
