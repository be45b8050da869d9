"""Risk alerts say what happened (a cut reads as a cut, a rise as a rise); the signals page names who trades."""

from __future__ import annotations

from datetime import UTC, datetime

from papertrader.api.views.alerts import alert_view
from papertrader.domain.events import ALERT_KINDS, event_from_record

T0 = datetime(2020, 1, 2, 21, tzinfo=UTC)


def test_an_increase_by_sizing_reads_raised_not_cut() -> None:
    payload = {"symbol": "AAPL", "rule": "vol_target", "requested_weight": 0.0027, "allowed_weight": 0.0064}
    alert = alert_view(event_from_record(T0, "order.resized", payload))
    assert "order.resized" in ALERT_KINDS
    assert "raised from 0.27% to 0.64%" in alert.message and "cut" not in alert.message


def test_a_rise_stored_by_an_older_run_as_order_reduced_also_reads_raised() -> None:
    payload = {"symbol": "FB", "rule": "vol_target", "requested_weight": 0.0027, "allowed_weight": 0.0064}
    assert "raised from 0.27% to 0.64%" in alert_view(event_from_record(T0, "order.reduced", payload)).message


def test_a_reduction_still_reads_cut() -> None:
    payload = {"symbol": "AAPL", "rule": "vol_target", "requested_weight": 0.2, "allowed_weight": 0.1}
    assert (
        "cut from 20.00% to 10.00% by vol_target" in alert_view(event_from_record(T0, "order.reduced", payload)).message
    )


def test_orders_follow_the_strategy_not_the_protective_stops_it_placed_last() -> None:
    from types import SimpleNamespace

    from papertrader.api.views.signals import decision_source

    orders = [SimpleNamespace(tag="ensemble"), SimpleNamespace(tag="protect")]
    service = SimpleNamespace(repo=SimpleNamespace(load_orders=lambda _run: orders))
    row = SimpleNamespace(id="run")
    assert decision_source(service.repo, row, ["ensemble", "lstm"]) == "ensemble"  # type: ignore[arg-type]
