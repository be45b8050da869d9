"""Questrade Level 1 quotes in batch: ``GET v1/markets/quotes?ids=1,2,3`` answers many symbols in one request.

Wire format (Questrade's API documentation, markets/quotes/:id; the tests serve hand-made bodies in this shape):
``{"quotes": [{"symbol": "AAPL", "symbolId": 8049, "tier": "", "bidPrice", "bidSize", "askPrice", "askSize",
"lastTradePriceTrHrs", "lastTradePrice", "lastTradeSize", "lastTradeTick", "lastTradeTime":
"2014-10-24T20:06:40.131000-04:00", "volume", "openPrice", "highPrice", "lowPrice", "delay": 0, "isHalted":
false}]}``. ``ids`` is a comma-separated list of symbolIds (from symbol search, cached by `QuestradeSource`); the
documentation sets no count limit, so a request carries at most ``QUOTE_BATCH`` ids (a URL of about 1 KB).
Market data is metered at 20 requests a second and 15,000 an hour (shared limits with candles): 200 symbols
are 2 requests a sweep instead of 200. A quote without a finite positive ``lastTradePrice`` or a
``lastTradeTime`` is quarantined with its reason; the rest of the answer is kept. ``delay`` (0 or a number of
minutes, or a boolean) marks a delayed snap quote.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

import pandas as pd

from papertrader.core.errors import DataError
from papertrader.data.adapters.questrade.parse import parse_iso
from papertrader.data.adapters.questrade.source import QuestradeSource
from papertrader.data.schema import UTC_NS

#: symbolIds per markets/quotes request
QUOTE_BATCH: Final = 100


def parse_quotes(body: object, wanted: Mapping[int, str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """markets/quotes -> (symbol, price, ts, volume, delayed) per wanted symbolId, and symbol -> why set aside."""
    if not isinstance(body, Mapping) or not isinstance(body.get("quotes"), list):
        raise DataError("Questrade body: quotes is missing or not an array")
    rows: list[dict[str, object]] = []
    bad: dict[str, str] = {}
    for i, item in enumerate(body["quotes"]):
        if not isinstance(item, Mapping):
            continue
        sid = item.get("symbolId")
        if isinstance(sid, bool) or not isinstance(sid, int) or sid not in wanted:
            continue  # not asked for: never attributed to another symbol
        symbol = wanted[sid]
        price = item.get("lastTradePrice")
        if isinstance(price, bool) or not isinstance(price, int | float) or not math.isfinite(price) or price <= 0:
            bad[symbol] = f"lastTradePrice {price!r:.30} is not a positive number"
            continue
        try:
            ts = parse_iso(item.get("lastTradeTime"), f"quotes[{i}].lastTradeTime")
        except DataError as exc:
            bad[symbol] = str(exc)[:200]
            continue
        volume = item.get("volume")
        volume = volume if isinstance(volume, int | float) and not isinstance(volume, bool) else math.nan
        delay = item.get("delay")
        rows.append(
            {
                "symbol": symbol,
                "price": float(price),
                "ts": pd.Timestamp(ts),
                "volume": float(volume)
                if isinstance(volume, int | float) and not isinstance(volume, bool)
                else math.nan,
                "delayed": bool(delay) if isinstance(delay, int | float | bool) else False,
            }
        )
    frame = pd.DataFrame(rows, columns=["symbol", "price", "ts", "volume", "delayed"])
    frame["symbol"] = frame["symbol"].astype(object)
    frame["price"] = frame["price"].astype("float64")
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).astype(UTC_NS)
    frame["volume"] = frame["volume"].astype("float64")
    frame["delayed"] = frame["delayed"].astype(bool)
    return frame, bad


class QuestradeBulkQuotes:
    """A `BulkQuoteSource` over Questrade: up to QUOTE_BATCH symbols' last trades in one request."""

    name = "questrade"
    batch_size = QUOTE_BATCH

    def __init__(self, source: QuestradeSource) -> None:
        self.source = source

    def fetch_quotes(self, symbols: Sequence[str]) -> tuple[pd.DataFrame, Mapping[str, str]]:
        """Quotes for at most `batch_size` symbols (ids from the symbol cache), and symbol -> why set aside."""
        if len(symbols) > self.batch_size:
            raise DataError(f"at most {self.batch_size} symbols a Questrade quotes request, got {len(symbols)}")
        wanted: dict[int, str] = {}
        unknown: dict[str, str] = {}
        for symbol in symbols:
            try:
                wanted[self.source.symbol_id(symbol)] = symbol
            except DataError as exc:  # an unknown ticker: set aside, the others are still asked for
                unknown[symbol] = str(exc)[:200]
        if not wanted:
            return parse_quotes({"quotes": []}, {})[0], unknown
        frame, bad = parse_quotes(self.source.client.quotes(list(wanted)), wanted)
        return frame, {**unknown, **bad}
