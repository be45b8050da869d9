"""Questrade adapter: `QuestradeSource` (BarSource "questrade"), the OAuth token rotation and the REST client."""

from papertrader.data.adapters.questrade.auth import QuestradeAuth, Session, TokenResponse, parse_token_response
from papertrader.data.adapters.questrade.candles import (
    QUESTRADE_INTERVALS,
    Page,
    plan_pages,
    questrade_interval,
    wire_time,
)
from papertrader.data.adapters.questrade.client import QuestradeClient
from papertrader.data.adapters.questrade.parse import (
    Account,
    Market,
    SymbolInfo,
    parse_accounts,
    parse_candles,
    parse_markets,
    parse_symbols,
    parse_time,
)
from papertrader.data.adapters.questrade.quotes import QUOTE_BATCH, QuestradeBulkQuotes, parse_quotes
from papertrader.data.adapters.questrade.responses import rate_limit_wait, read_response
from papertrader.data.adapters.questrade.secret import Secret, scrub
from papertrader.data.adapters.questrade.source import QuestradeSource
from papertrader.data.adapters.questrade.symbols import SymbolCache, pick_symbol, questrade_ticker
from papertrader.data.adapters.questrade.tokens import StoredToken, TokenStore

__all__ = [
    "QUESTRADE_INTERVALS",
    "QUOTE_BATCH",
    "Account",
    "Market",
    "Page",
    "QuestradeAuth",
    "QuestradeBulkQuotes",
    "QuestradeClient",
    "QuestradeSource",
    "Secret",
    "Session",
    "StoredToken",
    "SymbolCache",
    "SymbolInfo",
    "TokenResponse",
    "TokenStore",
    "parse_accounts",
    "parse_candles",
    "parse_markets",
    "parse_quotes",
    "parse_symbols",
    "parse_time",
    "parse_token_response",
    "pick_symbol",
    "plan_pages",
    "questrade_interval",
    "questrade_ticker",
    "rate_limit_wait",
    "read_response",
    "scrub",
    "wire_time",
]
