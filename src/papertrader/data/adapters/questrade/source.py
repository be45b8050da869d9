"""`QuestradeSource`: the BarSource over Questrade candles, in the lake's conventions.

Tickers are mapped to symbolIds by symbol search (cached); candles are fetched in pages of at most 2,000
(candles.py) and stamped at their start in UTC, daily candles at midnight America/New_York of their session
date. Questrade candles carry no split/dividend information, so no ``adj_factor`` column is added.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime

import httpx
import pandas as pd

from papertrader.config.questrade import QuestradeSettings
from papertrader.core.clock import Clock
from papertrader.core.errors import DataError
from papertrader.data.adapters.questrade.candles import plan_pages
from papertrader.data.adapters.questrade.client import QuestradeClient
from papertrader.data.adapters.questrade.symbols import SymbolCache, pick_symbol, questrade_ticker
from papertrader.data.adapters.questrade.tokens import TokenStore
from papertrader.data.schema import BAR_COLUMNS, DAILY_TZ, UTC_NS, daily_stamp, empty_bars, normalize_interval

log = logging.getLogger(__name__)


def _aware(ts: datetime) -> datetime:
    """Naive datetimes mean UTC (the lake's convention); aware ones are converted to UTC."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


class QuestradeSource:
    """Historical bars from Questrade for US and Canadian listings."""

    name = "questrade"

    def __init__(
        self,
        client: QuestradeClient | None = None,
        *,
        settings: QuestradeSettings | None = None,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
        store: TokenStore | None = None,
        symbols: SymbolCache | None = None,
    ) -> None:
        self.client = client or QuestradeClient(settings, clock=clock, transport=transport, rng=rng, store=store)
        self.symbols = symbols or SymbolCache(self.client.settings.symbol_cache_file)

    def __repr__(self) -> str:
        """Never show a token."""
        return f"QuestradeSource(client={self.client!r})"

    def symbol_id(self, symbol: str) -> int:
        """Questrade's numeric id for a ticker, from the cache or one symbol search."""
        ticker = questrade_ticker(symbol)
        cached = self.symbols.get(ticker)
        if cached is not None:
            return cached
        hit = pick_symbol(ticker, self.client.search_symbols(ticker))
        self.symbols.put(ticker, hit.symbol_id)
        return hit.symbol_id

    def fetch_bars(self, symbol: str, interval: str, start: datetime, end: datetime) -> pd.DataFrame:
        """Bars with start <= ts < end, raw OHLCV in the lake's long format."""
        canonical = normalize_interval(interval)
        start, end = _aware(start), _aware(end)
        if end <= start:
            raise DataError(f"empty range: end {end.isoformat()} is not after start {start.isoformat()}")
        now = self.client.clock.now()
        end = min(end, now)
        if end <= start:
            return empty_bars()
        sid = self.symbol_id(symbol)
        pages = plan_pages(canonical, start, end, self.client.settings.max_candles_per_request)
        frames = []
        for page in pages:
            candles = self.client.candles(sid, canonical, page.start, page.end)
            inside = (candles["start"] >= pd.Timestamp(page.start)) & (candles["start"] < pd.Timestamp(page.end))
            frames.append(candles.loc[inside])
        candles = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if candles.empty:
            return empty_bars()
        if canonical == "1d":
            local = candles["start"].dt.tz_convert(DAILY_TZ).dt.tz_localize(None).dt.normalize()
            ts = daily_stamp(local)
        else:
            ts = candles["start"].astype(UTC_NS)
        bars = pd.DataFrame(
            {
                "symbol": pd.Series([symbol] * len(candles), dtype=object),
                "ts": ts.reset_index(drop=True),
                **{
                    c: candles[c].reset_index(drop=True).astype("float64")
                    for c in ("open", "high", "low", "close", "volume")
                },
            }
        )
        keep = (bars["ts"] >= pd.Timestamp(start)) & (bars["ts"] < pd.Timestamp(end))
        return bars.loc[keep, list(BAR_COLUMNS)].reset_index(drop=True)
