"""Alpha Vantage key budgets: the polling cadence they allow and the time a backfill needs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from papertrader.data.adapters.alphavantage.polling import (
    KeyBudget,
    achievable_cadence,
    hypothetical_budgets,
    time_for_requests,
)

T0 = datetime(2024, 3, 8, 15, tzinfo=UTC)  # 10:00 New York


def test_200_symbols_on_one_premium_key_sweep_every_160_seconds() -> None:
    cadence = achievable_cadence(200, hypothetical_budgets(premium=1))
    assert cadence.requests_per_sweep == 200 and cadence.sweep_seconds == pytest.approx(160.0)
    assert "2.7 min" in cadence.describe()


def test_free_keys_barely_move_a_premium_cadence_and_alone_take_days() -> None:
    mixed = achievable_cadence(200, hypothetical_budgets(premium=1, free=3))
    assert mixed.sweep_seconds == pytest.approx(200 / (75 / 60 + 75 / 86_400))
    free = achievable_cadence(200, hypothetical_budgets(premium=0, free=3))
    assert free.sweep_seconds == pytest.approx(200 / 75 * 86_400)
    assert "days" in free.describe()
    assert achievable_cadence(200, hypothetical_budgets(premium=0, free=3), premium_only=True).sweep_seconds is None


def test_batch_endpoints_divide_the_requests_per_sweep() -> None:
    cadence = achievable_cadence(200, hypothetical_budgets(premium=1), batch_size=100)
    assert cadence.requests_per_sweep == 2 and cadence.sweep_seconds == pytest.approx(1.6)


def test_backfill_time_uses_what_is_left_now_then_the_budget_rate() -> None:
    premium = [KeyBudget("PR…01", "premium", 75, 15)]
    assert time_for_requests(15, premium, T0) == 0.0
    assert time_for_requests(90, premium, T0) == pytest.approx(60.0)  # 75 more at 75/min
    free = [KeyBudget("FR…02", "free", 25, 5, 2.5), KeyBudget("FR…03", "free", 25, 0, 2.5)]
    assert time_for_requests(4, free, T0) == pytest.approx(4 * 2.5 / 2)
    midnight = 14 * 3600.0  # 10:00 to midnight New York
    assert time_for_requests(30, free, T0) == pytest.approx(midnight)  # 5 today, 25 tomorrow
    assert time_for_requests(60, free, T0) == pytest.approx(midnight + 86_400)
    assert time_for_requests(1, [], T0) is None
