"""NEWS_SENTIMENT answers into one row per (article, ticker): the ``NewsSource`` frame.

Columns: ``symbol, published_at (UTC), sentiment (-1..1, the ticker's own score), relevance (0..1),
source, title, url``. ``time_published`` (``20260428T100054``) carries no zone; it is read as US/Eastern
like the vendor's other timestamps (parameter ``tz``). Ticker scores arrive as strings, the overall score as
a number; both are coerced. Articles are filtered to the requested symbols when given.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Final

import pandas as pd

from papertrader.data.adapters.alphavantage.classify import BodyKind, classify_payload, raise_unless_data
from papertrader.data.adapters.alphavantage.wire import (
    VENDOR_TZ,
    compact_time,
    localize_utc,
    num,
    require_list,
    require_object,
    text,
)
from papertrader.data.schema import UTC_NS

NEWS_COLUMNS: Final = ("symbol", "published_at", "sentiment", "relevance", "source", "title", "url")
#: Score bands from market-apis.md: <= -0.35 bearish, >= 0.35 bullish.
BEARISH: Final = -0.35
BULLISH: Final = 0.35


def empty_news() -> pd.DataFrame:
    """A news frame with no rows and the right dtypes."""
    return parse_news({})


def parse_news(payload: object, symbols: Collection[str] | None = None, *, tz: str = VENDOR_TZ) -> pd.DataFrame:
    """Parse NEWS_SENTIMENT into per-ticker scored rows (only `symbols` when given)."""
    classified = classify_payload(payload)
    raise_unless_data(classified, "news sentiment")
    body = require_object(payload, "news answer") if classified.kind is BodyKind.DATA else {}
    wanted = {s.upper() for s in symbols} if symbols else None
    rows: list[dict[str, Any]] = []
    for item in require_list(body.get("feed", []), "feed"):
        article = require_object(item, "feed item")
        published = compact_time(article.get("time_published"))
        for entry in require_list(article.get("ticker_sentiment", []), "ticker_sentiment"):
            scored = require_object(entry, "ticker_sentiment item")
            ticker = text(scored.get("ticker"))
            if ticker is None or (wanted is not None and ticker.upper() not in wanted):
                continue
            rows.append(
                {
                    "symbol": ticker,
                    "published_at": published,
                    "sentiment": num(scored.get("ticker_sentiment_score")),
                    "relevance": num(scored.get("relevance_score")),
                    "source": text(article.get("source")),
                    "title": text(article.get("title")),
                    "url": text(article.get("url")),
                }
            )
    frame = pd.DataFrame(rows, columns=list(NEWS_COLUMNS))
    local = pd.to_datetime(pd.Series([r["published_at"] for r in rows], dtype=object))
    frame["published_at"] = localize_utc(local, tz).reset_index(drop=True) if rows else pd.Series([], dtype=UTC_NS)
    for column in ("sentiment", "relevance"):
        frame[column] = frame[column].astype("float64")
    return frame.sort_values("published_at", kind="stable", na_position="last").reset_index(drop=True)
