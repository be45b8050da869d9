"""Printed times are the exchange's clock with a zone label, across daylight saving."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from papertrader.domain.timefmt import exchange_day, exchange_time


def test_a_utc_close_prints_as_the_new_york_close_with_its_label_in_winter_and_summer() -> None:
    assert exchange_time(datetime(2024, 1, 2, 21, 0, tzinfo=UTC)) == "2024-01-02 16:00 ET"
    assert exchange_time(pd.Timestamp("2024-07-01 20:00", tz="UTC")) == "2024-07-01 16:00 ET"
    assert exchange_time("2024-07-01T13:30:05+00:00", seconds=True) == "2024-07-01 09:30:05 ET"


def test_a_late_utc_time_belongs_to_the_previous_new_york_day() -> None:
    assert exchange_day(datetime(2024, 1, 3, 2, 0, tzinfo=UTC)) == "2024-01-02"


def test_a_naive_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="naive"):
        exchange_time(datetime(2024, 1, 2, 21, 0))
