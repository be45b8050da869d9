"""The lake's fundamentals and news tables: merged, re-write free, quarantining bad rows with a reason.

Rows are hand-made (synthetic) values in the adapters' frame formats; only storage is under test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from papertrader.core.clock import SimClock
from papertrader.data.adapters.alphavantage.fundamentals import empty_fundamentals
from papertrader.data.sidestore import SideStore
from papertrader.data.store import Lake

NOW = datetime(2024, 11, 1, 12, tzinfo=UTC)


def _store(tmp_path: Path) -> SideStore:
    return SideStore(Lake(tmp_path / "lake", clock=SimClock(NOW)))


def _earnings(eps: float = 2.3) -> pd.DataFrame:
    frame = empty_fundamentals()
    rows = pd.DataFrame(
        {
            "symbol": ["IBM", "IBM", "IBM", None],
            "available_at": pd.to_datetime(
                ["2024-10-24 00:00", "2024-07-24 13:30", "NaT", "2024-07-24 00:00"], utc=True
            ),
            "fiscal_date_ending": pd.to_datetime(["2024-09-30", "2024-06-30", "2024-03-31", "2024-06-30"], utc=True),
            "report": ["earnings"] * 4,
            "reported_eps": [eps, 2.43, 1.68, 1.0],
        }
    )
    return pd.concat([frame, rows], ignore_index=True)


def test_fundamentals_round_trip_and_a_second_identical_write_changes_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = store.write_fundamentals(_earnings(), "alphavantage", fetched_at=NOW)
    assert (first.written, first.quarantined) == (2, 2)
    path = store.path("fundamentals", "IBM")
    stamp = path.stat().st_mtime_ns
    again = store.write_fundamentals(_earnings(), "alphavantage", fetched_at=NOW)
    assert (again.written, again.unchanged) == (0, 2) and path.stat().st_mtime_ns == stamp
    read = store.read_fundamentals(["IBM"])
    assert read["reported_eps"].tolist() == [2.43, 2.3] and set(read["source"]) == {"alphavantage"}
    assert str(read["available_at"].dtype) == "datetime64[ns, UTC]"
    reasons = store.quarantined("fundamentals")["reason"].tolist()
    assert sorted(reasons) == ["no available_at", "no symbol"]


def test_a_revised_value_replaces_the_stored_one_and_empty_rows_are_not_stored(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.write_fundamentals(_earnings(), "alphavantage", fetched_at=NOW)
    revised = store.write_fundamentals(_earnings(eps=2.35), "alphavantage", fetched_at=NOW)
    assert (revised.written, revised.unchanged) == (1, 1)
    assert store.read_fundamentals()["reported_eps"].tolist() == [2.43, 2.35]
    blank = _earnings().iloc[:1].assign(reported_eps=np.nan)
    assert store.write_fundamentals(blank, "alphavantage", fetched_at=NOW).written == 0


def test_news_rows_merge_by_article_and_out_of_range_scores_are_quarantined(tmp_path: Path) -> None:
    store = _store(tmp_path)
    news = pd.DataFrame(
        {
            "symbol": ["IBM", "IBM", "IBM"],
            "published_at": pd.to_datetime(["2024-10-23 20:15", "2024-10-24 13:30", "2024-10-25 13:30"], utc=True),
            "sentiment": [0.41, -0.36, 3.0],
            "relevance": [0.9, 0.75, 0.5],
            "source": ["Benzinga", "Reuters", "X"],
            "title": ["a", "b", "c"],
            "url": ["https://example.invalid/a", "https://example.invalid/b", None],
        }
    )
    wrote = store.write_news(news, "alphavantage", fetched_at=NOW)
    assert (wrote.written, wrote.quarantined) == (2, 1)
    assert store.write_news(news.iloc[:2], "alphavantage", fetched_at=NOW).written == 0
    read = store.read_news()
    assert read["sentiment"].tolist() == [0.41, -0.36] and store.symbols("news") == ["IBM"]
    assert store.quarantined("news")["reason"].tolist() == ["sentiment not in [-1, 1]"]
