"""The typed event catalogue: every class round-trips through its stored payload, and unknown rows never crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from papertrader.domain import events as ev
from papertrader.domain.events import CATALOGUE, DomainEvent, UnknownEvent, event_from_record
from papertrader.domain.types import OrderType, Side

T = datetime(2024, 3, 1, 21, 0, tzinfo=UTC)
CHANGE = {"order_id": "r:00000001:0", "symbol": "AAPL", "side": Side.BUY, "qty": 10, "type": OrderType.MARKET}
VOTE = {"member": "lstm", "timeframe": "1d", "p_up": 0.6, "p_down": 0.4, "exit": False, "weight": 0.5, "reason": "r"}

#: One example of every catalogue class, with the values the engine would publish (crafted for this test).
EXAMPLES: list[DomainEvent] = [
    ev.CycleClosed(T, 3, Decimal("99000.10"), Decimal("100012.5"), Decimal("0.3"), 1, 2),
    ev.SignalChanged(T, "AAPL", "trend", 0.25, 1.0, "fast above slow"),
    ev.SignalChanged(T, "AAPL", "ensemble", -0.1, 0.4, "board", (VOTE, {**VOTE, "member": "gru", "p_up": None})),
    ev.OrderSubmitted(T, "r:00000003:0", "AAPL", Side.SELL, 7, OrderType.MARKET, 0.1),
    ev.OrderFilled(T, "r:00000003:0", 4, "AAPL", Side.SELL, 7, Decimal("171.50"), Decimal("0.35")),
    ev.HealthChanged(T, "data", "degraded", "yahoo: HTTP 503"),
    ev.HaltChanged(T, True, "kill switch: drawdown 8.10% past 8%"),
    ev.TradingModeChanged.switched(T, True, "operator"),
    ev.StrategyRebuilt(T, "ensemble", {"lstm": "v3"}, {"lstm": "v3"}, 120, {"start": "2011-05-02", "end": "x"}),
    ev.StrategyRebuilt(T, "ensemble", {}, {}, 0, None),
    ev.LiveRestarted(T, "2024-03-04T15:00:00+00:00", False, "running"),
    ev.LiveRestarted(T, None, True, "interrupted"),
    ev.LiveScored(T, 390, 389, 389 / 390, 1, ("1 scheduled bar close(s) had no cycle",)),
    ev.LiveScored(T, 0, 0, None, 0, ()),
    ev.SplitApplied(T, "AAPL", Decimal("2"), 216, Decimal("44.86"), Decimal("0")),
    ev.DividendPaid(T, "IBM", Decimal("0.497"), 216, Decimal("107.352")),
    ev.OrderCreated(T, **CHANGE, filled_qty=0, reason=None),
    ev.OrderAccepted(T, **CHANGE, filled_qty=0, reason=None),
    ev.OrderPartiallyFilled(T, **CHANGE, filled_qty=4, reason=None),
    ev.OrderCompleted(T, **CHANGE, filled_qty=10, reason=None),
    ev.OrderCancelled(T, **CHANGE, filled_qty=0, reason="replaced by a new target"),
    ev.OrderRejected(T, **CHANGE, filled_qty=0, reason="not enough cash"),
    ev.OrderExpired(T, **CHANGE, filled_qty=0, reason="day order expired"),
    ev.OrderAmended(T, **CHANGE, filled_qty=0, reason="ex-dividend 0.497: price reduced"),
    ev.OrderTriggered(T, **CHANGE, filled_qty=0, reason=None),
    ev.OrderActivated(T, **CHANGE, filled_qty=0, reason=None),
    ev.OrderDenied(T, "AAPL", "min_order_notional", {"notional": 12.5, "limit": 100.0}),
    ev.OrderReduced(T, "AAPL", "max_order_fraction", {"requested": 120, "allowed": 80}),
    ev.OrderResized(T, "AAPL", "vol_target", {"requested_weight": 0.0027, "allowed_weight": 0.0064}),
    ev.KillSwitchFired(T, "max_drawdown", 0.081, 0.08, 101_000.0, 92_819.0),
    ev.DailyLossLimitHit(T, "daily_loss_limit", 0.012, 0.01, 100_000.0, True),
    ev.PositionsFlattened(T, "daily_loss_limit"),
    ev.GapThrough(T, 1200.0, 60_000.0, 0.02, 0.015, {"AAPL": -0.031}),
    ev.DrawdownExited(T, "AAPL", "intrabar", 30, 170.1, Decimal("170.09"), 92_000.0, 0.05, 0.03),
    ev.StopExited(T, "AAPL", "r:00000003:sl:AAPL", "stop-loss", Decimal("160.2")),
    ev.StopBlockCleared(T, "AAPL", 0.0),
    ev.QuoteMarked(T, 100_000.0, 3, "alphavantage-bulk"),
    ev.PositionUnprotected(T, "AAPL", "no ATR yet for a stop"),
    ev.MemberDegraded(T, "gru", "1d", ("hit_rate_cusum",), 5.1, 0.2, (1.3, 1.1), 0.55, 0.24, 0.41, None, 80),
    ev.MemberRecovered(T, "gru", "1d", 0.56, 0.23, 40),
    ev.MonitorRecorded(T, ({"member": "gru", "hit_rate": None},), (), {"gru": 0.8}),
    ev.WeightsProposed(T, ({"member": "gru", "current": 0.3, "proposed": 0.25, "reason": "r"},), False),
    ev.DriftChanged(T, 40, 0.2, 60, ({"name": "rsi_14", "psi": 0.31, "ks": 0.2, "n": 60},), False),
]


def test_every_catalogue_kind_has_an_example_here() -> None:
    assert {e.kind for e in EXAMPLES} == set(CATALOGUE)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: f"{type(e).__name__}")
def test_from_dict_of_to_dict_gives_the_event_back(event: DomainEvent) -> None:
    assert type(event).from_dict(event.ts, event.to_dict()) == event


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: f"{type(e).__name__}")
def test_a_stored_row_reads_back_as_its_typed_event_with_the_same_json(event: DomainEvent) -> None:
    stored = json.dumps(event.to_dict())  # what the database keeps
    back = event_from_record(event.ts, event.kind, json.loads(stored))
    assert back == event and type(back) is type(event)
    assert json.dumps(back.to_dict()) == stored


def test_payloads_keep_the_stored_key_order_and_the_string_form_of_money() -> None:
    fill = ev.OrderFilled(T, "r:1", 1, "AAPL", Side.BUY, 10, Decimal("171.50"), Decimal("0.35"))
    assert json.dumps(fill.to_dict()) == (
        '{"order_id": "r:1", "seq": 1, "symbol": "AAPL", "side": "buy", "qty": 10, "price": "171.50", "fee": "0.35"}'
    )
    cut = ev.OrderReduced(T, "AAPL", "max_order_fraction", {"requested": 120, "allowed": 80})
    assert list(cut.to_dict()) == ["symbol", "rule", "requested", "allowed"]
    assert "votes" not in ev.SignalChanged(T, "AAPL", "trend", 0.2, 1.0, "r").to_dict()


def test_an_unknown_kind_comes_back_as_an_unknown_event_that_keeps_the_row() -> None:
    row = event_from_record(T, "broker.future_thing", {"x": 1})
    assert isinstance(row, UnknownEvent)
    assert row.kind == "broker.future_thing" and row.to_dict() == {"x": 1} and row.payload == {"x": 1}


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("fill", {"order_id": "r:1", "symbol": "AAPL"}),  # keys missing
        ("halt", {"halted": True, "reason": "x", "extra": 1}),  # a key this version does not know
        ("fill", {"order_id": "r:1", "seq": 1, "symbol": "A", "side": "up", "qty": 1, "price": "1", "fee": "0"}),
        ("cycle", {"cycle": "3", "cash": "1", "equity": "1", "gross_exposure": "0", "fills": 0, "orders": 0}),
        (
            "signal",
            {
                "symbol": "A",
                "source": "s",
                "target_weight": 0.1,
                "confidence": 1.0,
                "rationale": "",
                "votes": ["not a vote"],
            },
        ),
        ("order.denied", {"symbol": "A", "rule": "cash", "reason": "words are not numbers"}),
    ],
)
def test_a_payload_that_does_not_fit_its_class_is_kept_as_is_and_never_raises(
    kind: str, payload: dict[str, object]
) -> None:
    row = event_from_record(T, kind, payload)
    assert isinstance(row, UnknownEvent) and row.kind == kind and row.to_dict() == payload


def test_a_non_finite_number_stored_as_null_reads_back() -> None:
    stored = {"rule": "max_drawdown", "drawdown": None, "limit": 0.08, "peak_equity": 1.0, "equity": 1.0}
    event = event_from_record(T, "risk.kill_switch", stored)
    assert isinstance(event, ev.KillSwitchFired) and event.drawdown is None and event.to_dict() == stored


def test_the_named_groups_are_made_of_catalogue_kinds() -> None:
    groups = (
        ev.ACTION_KINDS,
        ev.LEDGER_KINDS,
        ev.PROTECTION_KINDS,
        ev.RESTORE_KINDS,
        ev.SIZING_KINDS,
        ev.STREAM_RISK_KINDS,
        ev.ALERT_KINDS,
        ev.REPORT_RISK_KINDS,
        ev.MONITOR_KINDS,
        ev.ATTRIBUTION_KINDS,
        ev.STREAMED_KINDS,
    )
    for group in groups:
        assert set(group) <= set(CATALOGUE), group
    assert set(ev.ORDER_TRANSITIONS) == {k for k in CATALOGUE if k.startswith("order.")} - {
        "order.submitted",
        *ev.SIZING_KINDS,
    }


def test_events_are_frozen() -> None:
    halt = ev.HaltChanged(T, True, "x")
    with pytest.raises(AttributeError):
        halt.halted = False  # type: ignore[misc]
