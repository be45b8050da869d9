"""Rebuild a run's ledger from its event log alone and compare it with the stored state.

Fills and corporate actions (split and dividend events) are replayed in publication order. Fills made at quotes
after the last committed cycle (stored at once, before the next close) are checked like any fill; the stored cash
is compared with the ledger as it stood before them, since that cycle's row holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from papertrader.core.errors import DataError
from papertrader.domain.events import LEDGER_KINDS, DividendPaid, OrderFilled, SplitApplied
from papertrader.domain.types import Fill, Position
from papertrader.engine.cycle import apply_action_event
from papertrader.persistence.repository import RunRepository
from papertrader.portfolio.ledger import Ledger

#: Stored money may be rounded to 10 decimals (NUMERIC(28, 10) outside SQLite); anything larger is a mismatch.
MONEY_TOLERANCE = Decimal("1e-8")


@dataclass(frozen=True)
class CheckReport:
    """What was compared and every mismatch found (empty means the stores agree)."""

    run_id: str
    fills: int
    cycles: int
    cash: Decimal
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when the event log, fills, positions and cash all agree."""
        return not self.problems


def _fill_from_event(event: OrderFilled) -> Fill:
    return Fill(
        order_id=event.order_id,
        symbol=event.symbol,
        side=event.side,
        qty=event.qty,
        price=event.price,
        fee=event.fee,
        ts=event.ts,
        seq=event.seq,
    )


def _position_problems(repo: RunRepository, run_id: str, ledger: Ledger, last: dict[str, Position]) -> list[str]:
    """Stored lots and the qty / avg_price / realized_pnl columns SQL readers see, against the rebuilt ledger."""
    problems: list[str] = []
    stored_positions = {p.symbol: p for p in repo.load_positions(run_id) if p.qty != 0}
    rebuilt = dict(ledger.positions)
    for symbol in sorted(set(stored_positions) | set(rebuilt)):
        a, b = stored_positions.get(symbol), rebuilt.get(symbol)
        if a is None or b is None or a.lots != b.lots:
            problems.append(f"position {symbol}: stored {a and a.lots}, rebuilt {b and b.lots}")
    columns = repo.load_position_columns(run_id)
    for symbol in sorted(set(columns) | set(last)):
        stored, fact = columns.get(symbol), last.get(symbol, Position(symbol))
        if stored is None:
            if fact.qty:
                problems.append(f"positions table has no row for {symbol}; the event log holds {fact.qty} shares")
            continue
        if stored.qty != fact.qty:
            problems.append(f"positions table: {symbol} qty {stored.qty}, but the event log gives {fact.qty}")
        if abs(stored.avg_price - fact.avg_price) > MONEY_TOLERANCE:
            problems.append(
                f"positions table: {symbol} avg_price {stored.avg_price}, but the event log gives {fact.avg_price}"
            )
        if abs(stored.realized_pnl - fact.realized_pnl) > MONEY_TOLERANCE:
            problems.append(
                f"positions table: {symbol} realized_pnl {stored.realized_pnl}, "
                f"but the event log gives {fact.realized_pnl}"
            )
    return problems


def check_run(repo: RunRepository, run_id: str) -> CheckReport:
    """Replay the fill events into a fresh ledger; compare fills, positions, cash and fees with storage."""
    run = repo.get_run(run_id)
    if run is None:
        raise DataError(f"no run {run_id}")
    events = repo.load_events(run_id, LEDGER_KINDS)
    from_events: list[Fill] = []
    ledger = Ledger(run.initial_cash)
    last: dict[str, Position] = {}  # each symbol's state after its latest fill or action, flat ones included
    problems: list[str] = []
    equity = repo.load_equity(run_id, exact=True)
    last_close = None if equity.empty else equity["ts"].iloc[-1]
    cash_at_last_cycle: Decimal | None = None  # before fills made at quotes after the last committed cycle
    for event in events:  # publication order: a split at a bar's open is booked before that bar's fills
        if isinstance(event, OrderFilled):
            if cash_at_last_cycle is None and last_close is not None and event.ts > last_close:
                cash_at_last_cycle = ledger.cash  # stored at a quote, ahead of the cycle that will carry its cash
            fill = _fill_from_event(event)
            from_events.append(fill)
            last[fill.symbol] = ledger.apply(fill)
        elif isinstance(event, SplitApplied | DividendPaid):
            apply_action_event(ledger, event)
            if event.symbol in ledger.positions:
                last[event.symbol] = ledger.positions[event.symbol]
        else:
            problems.append(f"event log: a {event.kind} event at {event.ts} could not be read: {event.payload}")
    stored_fills = repo.load_fills(run_id)
    if stored_fills != from_events:
        problems.append(f"fills table has {len(stored_fills)} fills, event log {len(from_events)} (or they differ)")
    seqs = [f.seq for f in stored_fills]
    if seqs != list(range(1, len(seqs) + 1)):
        problems.append("fill sequence numbers have gaps or duplicates")
    problems.extend(_position_problems(repo, run_id, ledger, last))
    if not equity.empty:
        stored_cash = equity["cash"].iloc[-1]
        rebuilt = ledger.cash if cash_at_last_cycle is None else cash_at_last_cycle
        if stored_cash != rebuilt:
            problems.append(f"cash: stored {stored_cash}, rebuilt {rebuilt}")
        cycles = list(equity["cycle"])
        if cycles != list(range(cycles[0], cycles[0] + len(cycles))):
            problems.append("equity curve has missing or repeated cycles")
    elif from_events:
        problems.append("fills exist but no cycle was committed")
    return CheckReport(run_id, len(from_events), len(equity), ledger.cash, tuple(problems))
