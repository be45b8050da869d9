"""Yahoo Finance v8 chart adapter: `YahooSource` (BarSource "yahoo") and the client and parsers behind it."""

from papertrader.data.adapters.yahoo.adjust import AdjustedBars, AdjustmentCheck, adjust
from papertrader.data.adapters.yahoo.client import YahooChartClient
from papertrader.data.adapters.yahoo.limits import LOOKBACK, MAX_SPAN, YAHOO_INTERVALS, Plan, plan_requests
from papertrader.data.adapters.yahoo.parse import ChartPayload, Dividend, Split, decode_json, parse_chart
from papertrader.data.adapters.yahoo.responses import read_chart_response, retry_after_seconds
from papertrader.data.adapters.yahoo.source import ChartData, YahooSource

__all__ = [
    "LOOKBACK",
    "MAX_SPAN",
    "YAHOO_INTERVALS",
    "AdjustedBars",
    "AdjustmentCheck",
    "ChartData",
    "ChartPayload",
    "Dividend",
    "Plan",
    "Split",
    "YahooChartClient",
    "YahooSource",
    "adjust",
    "decode_json",
    "parse_chart",
    "plan_requests",
    "read_chart_response",
    "retry_after_seconds",
]
