"""A run's stored decisions: its "signal" events (one per target change) with every board member's vote.

One query serves `papertrader decisions` and `GET /api/v1/runs/{id}/decisions`, so the command line and the
dashboard can never disagree about what the board decided. Pages are cut by the events' run-wide ``seq``
(newest first, ``before`` exclusive): a cursor that stays stable while the engine keeps appending.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from papertrader.domain.events import SignalChanged
from papertrader.persistence.models import EventModel

SIGNAL = SignalChanged.KIND


@dataclass(frozen=True)
class StoredVote:
    """One board member's opinion on one symbol at one decision (None where the member had no view)."""

    member: str
    timeframe: str
    p_up: float | None
    p_down: float | None
    exit: bool
    weight: float
    reason: str

    def to_json(self) -> dict[str, Any]:
        """Plain JSON with the keys the ensemble writes."""
        return {
            "member": self.member,
            "timeframe": self.timeframe,
            "p_up": self.p_up,
            "p_down": self.p_down,
            "exit": self.exit,
            "weight": self.weight,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class StoredDecision:
    """A target change for one symbol, as the engine committed it (votes are empty for a single strategy)."""

    seq: int
    cycle: int
    ts: datetime
    symbol: str
    source: str
    target_weight: float
    confidence: float
    rationale: str
    votes: tuple[StoredVote, ...]

    def to_json(self) -> dict[str, Any]:
        """Stable keys for `--json` files and scripts."""
        return {
            "seq": self.seq,
            "cycle": self.cycle,
            "ts": self.ts.isoformat(),
            "symbol": self.symbol,
            "source": self.source,
            "target_weight": self.target_weight,
            "confidence": self.confidence,
            "rationale": self.rationale,
            "votes": [v.to_json() for v in self.votes],
        }


@dataclass(frozen=True)
class DecisionPage:
    """One page of decisions; ``next_before`` is the cursor for the next (older) page, None on the last one."""

    decisions: tuple[StoredDecision, ...]
    total: int
    next_before: int | None


def _number(value: Any) -> float | None:
    """A finite float, or None for null, NaN and anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _vote(raw: Mapping[str, Any]) -> StoredVote:
    return StoredVote(
        member=str(raw.get("member", "")),
        timeframe=str(raw.get("timeframe", "")),
        p_up=_number(raw.get("p_up")),
        p_down=_number(raw.get("p_down")),
        exit=bool(raw.get("exit", False)),
        weight=_number(raw.get("weight")) or 0.0,
        reason=str(raw.get("reason", "")),
    )


def decision_from_row(seq: int, cycle: int, ts: datetime, payload: Mapping[str, Any]) -> StoredDecision:
    """A stored signal event as a typed decision; malformed fields become neutral values, never an error."""
    votes = payload.get("votes") or ()
    return StoredDecision(
        seq=seq,
        cycle=cycle,
        ts=ts,
        symbol=str(payload.get("symbol", "")),
        source=str(payload.get("source", "")),
        target_weight=_number(payload.get("target_weight")) or 0.0,
        confidence=_number(payload.get("confidence")) or 0.0,
        rationale=str(payload.get("rationale", "")),
        votes=tuple(_vote(v) for v in votes if isinstance(v, Mapping)) if isinstance(votes, list | tuple) else (),
    )


def load_decisions(
    engine: Engine,
    run_id: str,
    *,
    symbol: str | None = None,
    limit: int | None = None,
    before: int | None = None,
    newest_first: bool = True,
) -> DecisionPage:
    """The run's decisions filtered by symbol, cut at ``before`` (exclusive seq) and ``limit``, in one query."""
    where = [EventModel.run_id == run_id, EventModel.kind == SIGNAL]
    if symbol is not None:
        where.append(EventModel.payload["symbol"].as_string() == symbol)
    total_stmt = select(func.count()).select_from(EventModel).where(*where)
    if before is not None:
        where.append(EventModel.seq < before)
    order = EventModel.seq.desc() if newest_first else EventModel.seq.asc()
    stmt = select(EventModel.seq, EventModel.cycle, EventModel.ts, EventModel.payload).where(*where).order_by(order)
    if limit is not None:
        stmt = stmt.limit(limit + 1)
    with engine.connect() as conn:
        total = int(conn.execute(total_stmt).scalar_one())
        rows = list(conn.execute(stmt))
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if limit is not None else rows
    decisions = tuple(decision_from_row(r.seq, r.cycle, r.ts, r.payload or {}) for r in rows)
    return DecisionPage(decisions, total, decisions[-1].seq if more and newest_first and decisions else None)
