"""Hand-made Alpha Vantage bodies, worded as market-apis.md and the vendor's live answers word them.

Recorded bodies (real) are read from ../shared/data/api-recordings/alphavantage via `recorded()`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from support import SHARED

RECORDINGS: Path = SHARED / "api-recordings" / "alphavantage"


def recorded(name: str) -> Any:
    """A recorded JSON body, or skip when ../shared is not there."""
    path = RECORDINGS / name
    if not path.exists():
        pytest.skip(f"recording not available: {path}")
    return json.loads(path.read_text())


def recorded_text(name: str) -> str:
    """A recorded text body (CSV), or skip."""
    path = RECORDINGS / name
    if not path.exists():
        pytest.skip(f"recording not available: {path}")
    return path.read_text()


# --- errors and throttling (all HTTP 200) -------------------------------------------------------------

BAD_CALL = {
    "Error Message": "Invalid API call. Please retry or visit the documentation "
    "(https://www.alphavantage.co/documentation/) for TIME_SERIES_INTRADAY."
}
BAD_KEY = {
    "Error Message": "the parameter apikey is invalid or missing. Please claim your free API key on "
    "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
}
DEMO_KEY = {
    "Information": "The **demo** API key is for demo purposes only. Please claim your free API key at "
    "(https://www.alphavantage.co/support/#api-key) to explore our full API offerings. "
    "It takes fewer than 20 seconds."
}
DAILY_CAP = {
    "Information": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. "
    "Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly "
    "remove all daily rate limits."
}
BURST = {
    "Information": "Thank you for using Alpha Vantage! Please consider spreading out your free API requests "
    "more sparingly (1 request per second). You may subscribe to any of the premium plans at "
    "https://www.alphavantage.co/premium/ to lift the free key rate limit (25 requests per day), raise the "
    "per-second burst limit, and instantly remove all daily rate limits."
}
PREMIUM_ONLY = {
    "Information": "Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to any "
    "of the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all premium endpoints"
}
MINUTE_CAP = {
    "Information": "Thank you for using Alpha Vantage! Please contact premium@alphavantage.co if you are "
    "targeting a higher API call volume."
}
OLD_NOTE = {
    "Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and "
    "500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like to target a "
    "higher API call frequency."
}
UNKNOWN_NOTICE = {"Information": "We are performing scheduled maintenance. Please check back shortly."}

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>"
)

# --- data bodies -----------------------------------------------------------------------------------------


def intraday_body(
    stamps: list[str], interval: str = "5min", symbol: str = "IBM", base: float = 100.0
) -> dict[str, Any]:
    """A TIME_SERIES_INTRADAY body with one well-formed bar per stamp (given newest first, as the vendor)."""
    series = {}
    for i, stamp in enumerate(stamps):
        price = base + i * 0.01
        series[stamp] = {
            "1. open": f"{price:.4f}",
            "2. high": f"{price + 0.05:.4f}",
            "3. low": f"{price - 0.05:.4f}",
            "4. close": f"{price + 0.01:.4f}",
            "5. volume": str(1000 + i),
        }
    return {
        "Meta Data": {
            "1. Information": f"Intraday ({interval}) open, high, low, close prices and volume",
            "2. Symbol": symbol,
            "3. Last Refreshed": stamps[0] if stamps else "",
            "4. Interval": interval,
            "5. Output Size": "Compact",
            "6. Time Zone": "US/Eastern",
        },
        f"Time Series ({interval})": series,
    }


DAILY = {
    "Meta Data": {
        "1. Information": "Daily Prices (open, high, low, close) and Volumes",
        "2. Symbol": "IBM",
        "3. Last Refreshed": "2024-10-29",
        "4. Output Size": "Compact",
        "5. Time Zone": "US/Eastern",
    },
    "Time Series (Daily)": {
        "2024-10-29": {
            "1. open": "210.5000",
            "2. high": "211.9900",
            "3. low": "209.1000",
            "4. close": "210.4300",
            "5. volume": "3962128",
        },
        "2024-10-28": {
            "1. open": "208.7500",
            "2. high": "211.0000",
            "3. low": "208.5000",
            "4. close": "210.6600",
            "5. volume": "4109584",
        },
        "2024-10-25": {
            "1. open": "219.5000",
            "2. high": "220.4000",
            "3. low": "214.7600",
            "4. close": "214.8200",
            "5. volume": "5264520",
        },
    },
}

DAILY_ADJUSTED = {
    "Meta Data": {
        "1. Information": "Daily Time Series with Splits and Dividend Events",
        "2. Symbol": "NVDA",
        "3. Last Refreshed": "2024-06-11",
        "4. Output Size": "Compact",
        "5. Time Zone": "US/Eastern",
    },
    "Time Series (Daily)": {
        "2024-06-11": {
            "1. open": "121.7700",
            "2. high": "122.8700",
            "3. low": "118.7400",
            "4. close": "120.9100",
            "5. adjusted close": "120.9100",
            "6. volume": "222551161",
            "7. dividend amount": "0.0000",
            "8. split coefficient": "1.0",
        },
        "2024-06-10": {
            "1. open": "120.3700",
            "2. high": "123.1000",
            "3. low": "117.0100",
            "4. close": "121.7900",
            "5. adjusted close": "121.7900",
            "6. volume": "314162741",
            "7. dividend amount": "0.0000",
            "8. split coefficient": "10.0",
        },
        "2024-06-07": {
            "1. open": "1197.7000",
            "2. high": "1216.9171",
            "3. low": "1180.2200",
            "4. close": "1208.8800",
            "5. adjusted close": "120.8880",
            "6. volume": "41238580",
            "7. dividend amount": "0.1000",
            "8. split coefficient": "1.0",
        },
    },
}

DAILY_CSV = (
    "timestamp,open,high,low,close,volume\r\n"
    "2024-10-29,210.5000,211.9900,209.1000,210.4300,3962128\r\n"
    "2024-10-28,208.7500,211.0000,208.5000,210.6600,4109584\r\n"
)

DAILY_ADJUSTED_CSV = (
    "timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient\r\n"
    "2024-06-10,120.3700,123.1000,117.0100,121.7900,121.7900,314162741,0.0000,10.0\r\n"
    "2024-06-07,1197.7000,1216.9171,1180.2200,1208.8800,120.8880,41238580,0.1000,1.0\r\n"
)

DELAYED_QUOTE = {
    "Global Quote - DATA DELAYED BY 15 MINUTES": {
        "01. symbol": "IBM",
        "02. open": "210.5000",
        "03. high": "211.9900",
        "04. low": "209.1000",
        "05. price": "210.4300",
        "06. volume": "3962128",
        "07. latest trading day": "2024-10-29",
        "08. previous close": "210.6600",
        "09. change": "-0.2300",
        "10. change percent": "-0.1092%",
    }
}

RSI = {
    "Meta Data": {
        "1: Symbol": "IBM",
        "2: Indicator": "Relative Strength Index (RSI)",
        "3: Last Refreshed": "2024-10-29",
        "4: Interval": "daily",
        "5: Time Period": 14,
        "6: Series Type": "close",
        "7: Time Zone": "US/Eastern Time",
    },
    "Technical Analysis: RSI": {
        "2024-10-29": {"RSI": "41.3712"},
        "2024-10-28": {"RSI": "41.9150"},
    },
}

MACD = {
    "Meta Data": {
        "1: Symbol": "IBM",
        "2: Indicator": "Moving Average Convergence/Divergence (MACD)",
        "3: Last Refreshed": "2024-10-29",
        "4: Interval": "daily",
        "5.1: Fast Period": 12,
        "5.2: Slow Period": 26,
        "5.3: Signal Period": 9,
        "6: Series Type": "close",
        "7: Time Zone": "US/Eastern",
    },
    "Technical Analysis: MACD": {
        "2024-10-29": {"MACD": "-1.2345", "MACD_Hist": "-0.5000", "MACD_Signal": "-0.7345"},
        "2024-10-28": {"MACD": "-1.0000", "MACD_Hist": "-0.4000", "MACD_Signal": "-0.6000"},
    },
}

EARNINGS = {
    "symbol": "IBM",
    "annualEarnings": [
        {"fiscalDateEnding": "2024-09-30", "reportedEPS": "6.81"},
        {"fiscalDateEnding": "2023-12-31", "reportedEPS": "9.61"},
    ],
    "quarterlyEarnings": [
        {
            "fiscalDateEnding": "2024-09-30",
            "reportedDate": "2024-10-23",
            "reportedEPS": "2.3",
            "estimatedEPS": "2.23",
            "surprise": "0.07",
            "surprisePercentage": "3.139",
            "reportTime": "post-market",
        },
        {
            "fiscalDateEnding": "2024-06-30",
            "reportedDate": "2024-07-24",
            "reportedEPS": "2.43",
            "estimatedEPS": "2.2",
            "surprise": "0.23",
            "surprisePercentage": "10.4545",
            "reportTime": "pre-market",
        },
        {
            "fiscalDateEnding": "2024-03-31",
            "reportedDate": "2024-04-24",
            "reportedEPS": "1.68",
            "estimatedEPS": "None",
            "surprise": "None",
            "surprisePercentage": "None",
            "reportTime": "",
        },
    ],
}

INSIDER = {
    "data": [
        {
            "transaction_date": "2024-10-01",
            "ticker": "IBM",
            "executive": "KRISHNA, ARVIND",
            "executive_title": "Chairman, President and CEO",
            "security_type": "Common Stock",
            "acquisition_or_disposal": "A",
            "shares": "1200.0",
            "share_price": "",
        },
        {
            "transaction_date": "2024-09-15",
            "ticker": "IBM",
            "executive": "SMITH, JANE",
            "executive_title": "Director",
            "security_type": "Common Stock",
            "acquisition_or_disposal": "D",
            "shares": "500.0",
            "share_price": "215.5",
        },
    ]
}

MOVERS = {
    "metadata": "Top gainers, losers, and most actively traded US tickers",
    "last_updated": "2024-10-29 16:16:00 US/Eastern",
    "top_gainers": [
        {
            "ticker": "ABCD",
            "price": "1.23",
            "change_amount": "0.45",
            "change_percentage": "57.6923%",
            "volume": "12345678",
        }
    ],
    "top_losers": [
        {
            "ticker": "WXYZ",
            "price": "0.50",
            "change_amount": "-0.40",
            "change_percentage": "-44.4444%",
            "volume": "987654",
        }
    ],
    "most_actively_traded": [
        {
            "ticker": "NVDA",
            "price": "141.25",
            "change_amount": "0.73",
            "change_percentage": "0.5195%",
            "volume": "157593543",
        }
    ],
}

NEWS = {
    "items": "2",
    "sentiment_score_definition": "x <= -0.35: Bearish; -0.35 < x <= -0.15: Somewhat-Bearish; ...",
    "relevance_score_definition": "0 < x <= 1, with a higher score indicating higher relevance.",
    "feed": [
        {
            "title": "IBM beats on earnings",
            "url": "https://example.com/ibm-beats",
            "time_published": "20241023T161500",
            "authors": ["A. Writer"],
            "summary": "...",
            "source": "Benzinga",
            "topics": [{"topic": "Earnings", "relevance_score": "1.0"}],
            "overall_sentiment_score": 0.44,
            "overall_sentiment_label": "Bullish",
            "ticker_sentiment": [
                {
                    "ticker": "IBM",
                    "relevance_score": "0.9",
                    "ticker_sentiment_score": "0.41",
                    "ticker_sentiment_label": "Bullish",
                },
                {
                    "ticker": "MSFT",
                    "relevance_score": "0.1",
                    "ticker_sentiment_score": "-0.05",
                    "ticker_sentiment_label": "Neutral",
                },
            ],
        },
        {
            "title": "Mainframe demand slows",
            "url": "https://example.com/mainframe",
            "time_published": "20241024T0930",
            "source": "Reuters",
            "overall_sentiment_score": -0.2,
            "overall_sentiment_label": "Somewhat-Bearish",
            "ticker_sentiment": [
                {
                    "ticker": "IBM",
                    "relevance_score": "0.75",
                    "ticker_sentiment_score": "-0.3612",
                    "ticker_sentiment_label": "Bearish",
                }
            ],
        },
    ],
}

CPI = {
    "name": "Consumer Price Index for all Urban Consumers",
    "interval": "monthly",
    "unit": "index 1982-1984=100",
    "data": [
        {"date": "2024-09-01", "value": "315.301"},
        {"date": "2024-08-01", "value": "314.796"},
        {"date": "2024-07-01", "value": "."},
    ],
}

WTI = {
    "name": "Crude Oil Prices: West Texas Intermediate (WTI) - Cushing, Oklahoma",
    "interval": "daily",
    "unit": "dollars per barrel",
    "data": [{"date": "2024-10-28", "value": "67.38"}, {"date": "2024-10-25", "value": "71.78"}],
}

MACRO_CSV = "timestamp,value\r\n2024-09-01,4.1\r\n2024-08-01,4.2\r\n"
