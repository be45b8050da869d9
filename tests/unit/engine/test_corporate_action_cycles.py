"""Splits and dividends inside the engine loop, on real IBM daily bars with SYNTHETIC actions inserted:
a 3:2 split of an odd position (half a share paid in cash) and a cash dividend two sessions later."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock
from papertrader.core.events import EventBus
from papertrader.domain.events import ACTION_KINDS, DomainEvent
from papertrader.domain.types import Fill, Side
from papertrader.engine.cycle import Engine, apply_action_event
from papertrader.engine.panel import Panel
from papertrader.features.technical import TechnicalSpec, compute_technical
from papertrader.portfolio.ledger import Ledger
from papertrader.signals.trend import TrendFollowing
from support import load_shared_daily


def _engine(bars: pd.DataFrame, actions: pd.DataFrame | None) -> tuple[Engine, list[DomainEvent]]:
    settings = Settings(risk={"max_drawdown": 0.5})
    panel = Panel.from_long(bars, "1d", actions=actions)
    s = settings.strategy
    features = compute_technical(panel.prices, TechnicalSpec(sma=(s.fast, s.slow)))
    bus = EventBus()
    events: list[DomainEvent] = []
    bus.subscribe(events.append)
    engine = Engine(
        run_id="t",
        panel=panel,
        features=features,
        strategy=TrendFollowing(1, s.fast, s.slow),
        settings=settings,
        clock=SimClock(panel.bar(0).open_time),
        bus=bus,
    )
    return engine, events


@pytest.fixture(scope="module")
def ran() -> tuple[Engine, list[DomainEvent], int, int]:
    bars = load_shared_daily("IBM")
    window = (bars["ts"] >= pd.Timestamp("2005-01-01", tz="UTC")) & (bars["ts"] < pd.Timestamp("2007-01-01", tz="UTC"))
    bars = bars[window].reset_index(drop=True)
    plain, _ = _engine(bars, None)
    held = []
    for k in range(len(bars)):
        plain.step(k)
        held.append(plain.ledger.qty("IBM"))
    k = next(k for k in range(100, len(bars) - 3) if held[k] % 2 == 1 and held[k + 1] == held[k])
    at, div_at = bars["ts"].iloc[k + 1], bars["ts"].iloc[k + 3]
    after = bars["ts"] >= at
    split = bars.assign(adj_factor=1.0)
    for col in ("open", "high", "low", "close"):
        split.loc[after, col] = split.loc[after, col] / 1.5
    split.loc[after, "volume"] = split.loc[after, "volume"] * 1.5
    split.loc[~after, "adj_factor"] = 1 / 1.5
    actions = pd.DataFrame(
        {"symbol": ["IBM", "IBM"], "ts": [at, div_at], "split_ratio": [1.5, 1.0], "dividend": [0.0, 0.5]}
    )
    engine, events = _engine(split, actions)
    engine.run()
    return engine, events, held[k], k + 1


def test_an_odd_position_splits_three_for_two_with_half_a_share_paid_in_cash(
    ran: tuple[Engine, list[DomainEvent], int, int],
) -> None:
    _, events, held, _ = ran
    split = [e for e in events if e.kind == "split"]
    assert len(split) == 1
    payload = split[0].payload
    assert payload["qty"] == held and held % 2 == 1
    lieu = Decimal(str(payload["cash_in_lieu_price"]))
    assert Decimal(str(payload["cash"])) == Decimal("0.5") * lieu > 0


def test_the_dividend_is_credited_on_the_shares_held_after_the_split(
    ran: tuple[Engine, list[DomainEvent], int, int],
) -> None:
    _, events, held, _ = ran
    dividend = [e for e in events if e.kind == "dividend"]
    assert len(dividend) == 1
    assert dividend[0].payload["qty"] == int(held * 1.5)
    assert Decimal(str(dividend[0].payload["cash"])) == Decimal("0.5") * int(held * 1.5)


def test_fills_and_actions_from_the_event_log_rebuild_the_ledger_exactly(
    ran: tuple[Engine, list[DomainEvent], int, int],
) -> None:
    engine, events, _, _ = ran
    ledger = Ledger(engine.ledger.initial_cash)
    for event in events:
        if event.kind == "fill":
            p = event.payload
            side = Side(str(p["side"]))
            ledger.apply(
                Fill(
                    str(p["order_id"]),
                    str(p["symbol"]),
                    side,
                    int(str(p["qty"])),
                    Decimal(str(p["price"])),
                    Decimal(str(p["fee"])),
                    event.ts,
                    int(str(p["seq"])),
                )
            )
        elif event.kind in ACTION_KINDS:
            apply_action_event(ledger, event)
    assert ledger.cash == engine.ledger.cash
    assert dict(ledger.positions) == dict(engine.ledger.positions)
    assert ledger.dividends == engine.ledger.dividends > 0


@functools.cache
def _ibm_2005() -> pd.DataFrame:
    bars = load_shared_daily("IBM")
    window = (bars["ts"] >= pd.Timestamp("2005-01-01", tz="UTC")) & (bars["ts"] < pd.Timestamp("2006-07-01", tz="UTC"))
    return bars[window].reset_index(drop=True)


@functools.cache
def _plain_run() -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[int, ...]]:
    engine, events = _engine(_ibm_2005(), None)
    held = []
    for k in range(len(engine.panel)):
        engine.step(k)
        held.append(engine.ledger.qty("IBM"))
    return _signals(events), _fills(events), tuple(held)


def _signals(events: list[DomainEvent]) -> tuple[Any, ...]:
    return tuple((e.ts, e.payload["target_weight"], e.payload["confidence"]) for e in events if e.kind == "signal")


def _fills(events: list[DomainEvent]) -> tuple[Any, ...]:
    return tuple(
        (e.ts, e.payload["side"], e.payload["qty"], e.payload["price"], e.payload["fee"])
        for e in events
        if e.kind == "fill"
    )


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ratio=st.sampled_from([2.0, 4.0, 8.0]), where=st.floats(0.2, 0.95))
def test_property_a_split_anywhere_changes_no_decision_and_nothing_before_it(ratio: float, where: float) -> None:
    """Any power-of-two split (exact in binary, so the adjusted history is the same numbers scaled) at any
    session: the same decisions throughout, the same fills and fees before it, the position times the ratio."""
    bars = _ibm_2005()
    k = int(where * (len(bars) - 1))
    at = bars["ts"].iloc[k]
    after = bars["ts"] >= at
    split = bars.assign(adj_factor=1.0)
    for col in ("open", "high", "low", "close"):
        split.loc[after, col] = split.loc[after, col] / ratio
    split.loc[after, "volume"] = split.loc[after, "volume"] * ratio
    split.loc[~after, "adj_factor"] = 1 / ratio
    action = pd.DataFrame({"symbol": ["IBM"], "ts": [at], "split_ratio": [ratio], "dividend": [0.0]})
    engine, events = _engine(split, action)
    for j in range(k):
        engine.step(j)
    signals, fills, held = _plain_run()
    opened = engine.panel.open_times[k]
    assert _fills(events) == tuple(f for f in fills if f[0] < opened)
    engine.step(k)
    assert [e.payload["qty"] for e in events if e.kind == "split"] == [held[k - 1]]
    assert sum(
        e.payload["qty"] if e.payload["side"] == "buy" else -e.payload["qty"]
        for e in events
        if e.kind == "fill" and e.ts == opened
    ) == engine.ledger.qty("IBM") - int(held[k - 1] * ratio)
    for j in range(k + 1, len(engine.panel)):
        engine.step(j)
    assert _signals(events) == signals
