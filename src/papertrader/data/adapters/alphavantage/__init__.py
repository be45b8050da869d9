"""Alpha Vantage: a budgeted httpx client, body classification, parsers and the data ports.

Modules, one job each: ``wire`` (string values and shapes), ``classify`` (what an answer is, and which
project error it maps to), ``labels`` (intraday start/end labels), ``csvbody`` (CSV answers), parsers
``bars``, ``quote``, ``indicators``, ``fundamentals``, ``news``, ``macro``; ``transport`` (one HTTP GET),
``client`` (budgeting, retries, failover; one method per endpoint) and ``source`` (the ports); ``keys`` (the
API keys, their budgets and usage persisted in the database) and ``polling`` (what the budgets allow: live
polling cadence, time for a backfill; quotes from GLOBAL_QUOTE).
"""

from papertrader.data.adapters.alphavantage.classify import (
    BodyKind,
    Classified,
    EndpointConfigError,
    PremiumEndpointError,
    classify_payload,
    classify_response,
    error_for,
)
from papertrader.data.adapters.alphavantage.client import AlphaVantageClient
from papertrader.data.adapters.alphavantage.csvbody import TruncatedBodyError
from papertrader.data.adapters.alphavantage.source import AlphaVantageSource

__all__ = [
    "AlphaVantageClient",
    "AlphaVantageSource",
    "BodyKind",
    "Classified",
    "EndpointConfigError",
    "PremiumEndpointError",
    "TruncatedBodyError",
    "classify_payload",
    "classify_response",
    "error_for",
]
