"""ATR stop-loss / take-profit pairs on real bars: sized to the position, placed without look-ahead, and a stop wins."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from papertrader.config.settings import RiskSettings, Settings
from papertrader.domain.events import DomainEvent, StopBlockCleared, StopExited
from papertrader.domain.types import OrderType, Side
from papertrader.engine.cycle import Engine
from papertrader.engine.protection import CLEARED_EVENT, EXIT_EVENT, Protector, atr_panel, is_protective
from support import EngineFactory

# tight stops so a few years of real bars exercise both legs many times; no kill switch to end it early
TIGHT = Settings(risk=RiskSettings(max_drawdown=1.0, stop_atr_mult=1.0, take_profit_atr_mult=2.0))


@pytest.fixture(scope="module")
def tight_run(etf_daily: pd.DataFrame) -> tuple[Engine, list[DomainEvent], list[dict[str, object]]]:
    """A real 4-ETF run with tight stops, with the protective book after every cycle."""
    from support import build_engine

    bars = etf_daily[etf_daily["ts"] < pd.Timestamp("2012-01-01", tz="UTC")]
    engine, events = build_engine(bars, TIGHT)
    books: list[dict[str, object]] = []
    for k in range(len(engine.panel)):
        engine.step(k)
        held = {s: p.qty for s, p in engine.ledger.positions.items()}
        pending = engine.broker.pending_qty()
        legs = [o for o in engine.broker.working if is_protective(o.id)]
        books.append({"k": k, "held": held, "pending": pending, "legs": legs})
    return engine, events, books


def test_every_position_is_covered_by_one_pair_sized_to_what_stays_held(
    tight_run: tuple[Engine, list[DomainEvent], list[dict[str, object]]],
) -> None:
    engine, _, books = tight_run
    covered = 0
    for book in books:
        held: dict[str, int] = book["held"]  # type: ignore[assignment]
        pending: np.ndarray = book["pending"]  # type: ignore[assignment]
        legs = book["legs"]
        for symbol in engine.panel.symbols:
            mine = [o for o in legs if o.symbol == symbol]  # type: ignore[attr-defined]
            qty = held.get(symbol, 0)
            stays = max(0, min(qty, qty + int(pending[engine.panel.symbols.index(symbol)])))
            if stays == 0:
                assert not mine, f"cycle {book['k']}: no protection without a position in {symbol}"
                continue
            if not mine:  # only before the ATR exists
                continue
            assert sorted(o.type for o in mine) == sorted([OrderType.STOP, OrderType.LIMIT])
            assert all(o.side is Side.SELL and o.remaining == stays for o in mine), f"cycle {book['k']} {symbol}"
            covered += 1
    assert covered > 500


def test_stop_levels_come_from_the_atr_of_the_placement_bar(
    tight_run: tuple[Engine, list[DomainEvent], list[dict[str, object]]],
) -> None:
    engine, events, _ = tight_run
    atr = atr_panel(engine.panel.prices, TIGHT.risk.atr_period)
    accepted = [e for e in events if e.kind == "order.accepted" and ":sl:" in str(e.payload["order_id"])]
    assert accepted
    fresh = 0
    for event in accepted:
        order_id = str(event.payload["order_id"])
        k = int(order_id.split(":")[1])
        assert event.ts == engine.panel.close_times[k], "placed at the close of its bar, working from the next"
        assert np.isfinite(atr[k, engine.panel.symbols.index(str(event.payload["symbol"]))])
        fresh += 1
    assert fresh > 10


def test_a_stop_exit_blocks_reentry_until_the_strategy_is_flat_again(
    tight_run: tuple[Engine, list[DomainEvent], list[dict[str, object]]],
) -> None:
    _, events, _ = tight_run
    exits = [e for e in events if e.kind == EXIT_EVENT]
    assert len(exits) >= 5, "tight stops on real bars must fire"
    assert {e.payload["leg"] for e in exits} == {"stop-loss", "take-profit"}
    for exit_event in exits:
        symbol = exit_event.payload["symbol"]
        cleared = next(
            (
                e.ts
                for e in events
                if e.kind == CLEARED_EVENT and e.payload["symbol"] == symbol and e.ts > exit_event.ts
            ),
            None,
        )
        buys = [
            e
            for e in events
            if e.kind == "order.submitted"
            and e.payload["symbol"] == symbol
            and e.payload["side"] == "buy"
            and e.ts > exit_event.ts
        ]
        if buys:
            assert cleared is not None and buys[0].ts >= cleared, f"{symbol} re-bought before its block cleared"


def test_stops_never_leave_a_long_only_book_short(
    tight_run: tuple[Engine, list[DomainEvent], list[dict[str, object]]],
) -> None:
    _, _, books = tight_run
    for book in books:
        held: dict[str, int] = book["held"]  # type: ignore[assignment]
        assert all(q > 0 for q in held.values()), f"cycle {book['k']}: {held}"


def test_protection_can_be_switched_off(etf_daily: pd.DataFrame, engine_factory: EngineFactory) -> None:
    bars = etf_daily[etf_daily["ts"] < pd.Timestamp("2004-01-01", tz="UTC")]
    engine, events = engine_factory(bars, Settings(risk=RiskSettings(protective_stops=False)))
    engine.run()
    assert not any(is_protective(str(e.payload.get("order_id", ""))) for e in events)


def test_blocks_rebuild_from_stored_events() -> None:
    protector = Protector("r", ("A", "B"), RiskSettings(), np.full((3, 2), 1.0))
    events = [
        StopExited(pd.Timestamp("2020-01-02", tz="UTC").to_pydatetime(), "A", "r:1:sl:A", "stop-loss", Decimal(9)),
        StopExited(pd.Timestamp("2020-01-03", tz="UTC").to_pydatetime(), "B", "r:2:sl:B", "stop-loss", Decimal(9)),
        StopBlockCleared(pd.Timestamp("2020-01-06", tz="UTC").to_pydatetime(), "A", 0.0),
    ]
    protector.restore([], events)
    assert protector.blocked == {"B"}
    gated = protector.gate(np.array([0.5, 0.5]), events[-1].ts, [])
    assert gated.tolist() == [0.5, 0.0], "a blocked symbol stays flat while the strategy still says long"
