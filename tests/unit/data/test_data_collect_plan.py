"""`data collect` planning: only what the ledger has not recorded is asked for; news only uncovered windows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from papertrader.core.errors import ConfigError, DataError
from papertrader.data.collect import (
    FUNDAMENTAL_FUNCTIONS,
    MACRO_REQUESTS,
    CollectLedger,
    Item,
    default_news_end,
    plan_items,
    uncovered,
)

NOW = datetime(2024, 11, 1, 16, tzinfo=UTC)


def ts(day: str) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def test_uncovered_returns_the_holes_of_a_window_between_covered_ranges() -> None:
    covered = [(ts("2024-01-10").value, ts("2024-01-20").value), (ts("2024-01-15").value, ts("2024-02-01").value)]
    holes = uncovered(ts("2024-01-01"), ts("2024-03-01"), covered)
    assert holes == [(ts("2024-01-01").value, ts("2024-01-10").value), (ts("2024-02-01").value, ts("2024-03-01").value)]
    assert uncovered(ts("2024-01-12"), ts("2024-01-30"), covered) == []


def test_a_recorded_item_is_not_planned_again_unless_refreshed(tmp_path: Path) -> None:
    ledger = CollectLedger(tmp_path / "collect.sqlite")
    items = plan_items(ledger, "fundamentals", ["IBM"])
    assert [i.function for i in items] == list(FUNDAMENTAL_FUNCTIONS)
    ledger.record(items[0], "stored", 1, "", NOW)
    ledger.record(items[1], "quarantined", 0, "DataError: bad call", NOW)
    assert [i.function for i in plan_items(ledger, "fundamentals", ["IBM"])] == list(FUNDAMENTAL_FUNCTIONS[2:])
    assert len(plan_items(ledger, "macro", [])) == len(MACRO_REQUESTS)
    assert len(plan_items(ledger, "fundamentals", ["IBM"], refresh=True)) == 4
    ledger.cover_news("IBM", ts("2024-01-01"), ts("2024-02-01"), NOW)
    assert len(plan_items(ledger, "news", ["IBM"], start=ts("2024-01-01"), end=ts("2024-02-01"), refresh=True)) == 1


def test_news_plans_only_the_part_of_the_window_not_fetched_before(tmp_path: Path) -> None:
    ledger = CollectLedger(tmp_path / "collect.sqlite")
    ledger.cover_news("IBM", ts("2024-01-01"), ts("2024-06-01"), NOW)
    items = plan_items(ledger, "news", ["IBM", "AAPL"], start=ts("2024-01-01"), end=ts("2024-07-01"))
    assert items == [
        Item("news", "NEWS_SENTIMENT", "IBM", ts("2024-06-01"), ts("2024-07-01")),
        Item("news", "NEWS_SENTIMENT", "AAPL", ts("2024-01-01"), ts("2024-07-01")),
    ]


def test_bad_plans_are_clear_errors(tmp_path: Path) -> None:
    ledger = CollectLedger(tmp_path / "collect.sqlite")
    with pytest.raises(ConfigError, match="unknown data family"):
        plan_items(ledger, "options", ["IBM"])
    with pytest.raises(ConfigError, match="needs symbols"):
        plan_items(ledger, "fundamentals", [])
    with pytest.raises(DataError, match="empty news window"):
        plan_items(ledger, "news", ["IBM"], start=ts("2024-02-01"), end=ts("2024-01-01"))


def test_the_default_news_end_is_todays_midnight_in_new_york() -> None:
    assert default_news_end(datetime(2024, 11, 2, 3, tzinfo=UTC)) == pd.Timestamp("2024-11-01", tz="America/New_York")
