"""The relational schema: one table per kind of state, keyed so that replays upsert instead of duplicating."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, Float, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from papertrader.persistence.types import Money, UTCDateTime

ID_LEN = 128
SYMBOL_LEN = 32


class RunMode(StrEnum):
    BACKTEST = "backtest"
    REPLAY = "replay"
    LIVE = "live"


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


def _in(column: str, enum: type[StrEnum]) -> str:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"


class Base(DeclarativeBase):
    """Declarative base holding the papertrader metadata."""


class RunModel(Base):
    """One backtest, replay or live session: its setup, progress marker and final summary."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_in("mode", RunMode), name="ck_runs_mode"),
        CheckConstraint(_in("status", RunStatus), name="ck_runs_status"),
        Index("ix_runs_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    interval: Mapped[str] = mapped_column(String(16))
    symbols: Mapped[list[str]] = mapped_column(JSON)
    start: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    end: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    initial_cash: Mapped[Decimal] = mapped_column(Money())
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    last_cycle: Mapped[int] = mapped_column(Integer, default=-1, server_default="-1")
    last_cycle_ts: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)


class OrderModel(Base):
    """The latest state of each order; deterministic ids make a re-insert an update."""

    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_run_created", "run_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(2 * ID_LEN), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(ID_LEN), ForeignKey("runs.id", ondelete="CASCADE"))
    symbol: Mapped[str] = mapped_column(String(SYMBOL_LEN))
    side: Mapped[str] = mapped_column(String(8))
    qty: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16))
    limit_price: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    tif: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    filled_qty: Mapped[int] = mapped_column(Integer)
    avg_fill_price: Mapped[Decimal] = mapped_column(Money())
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    tag: Mapped[str] = mapped_column(String(255), default="")
    stop_price: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    parent_id: Mapped[str | None] = mapped_column(String(2 * ID_LEN), nullable=True)
    oco_group: Mapped[str | None] = mapped_column(String(2 * ID_LEN), nullable=True)
    replaces: Mapped[str | None] = mapped_column(String(2 * ID_LEN), nullable=True)
    triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    extended_hours: Mapped[bool] = mapped_column(Boolean, default=False)


class FillModel(Base):
    """Every execution, keyed by the run-wide fill sequence number so a replay cannot book it twice."""

    __tablename__ = "fills"
    __table_args__ = (
        Index("ix_fills_run_ts", "run_id", "ts"),
        Index("ix_fills_order", "order_id"),
    )

    run_id: Mapped[str] = mapped_column(String(ID_LEN), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    cycle: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[str] = mapped_column(String(2 * ID_LEN), ForeignKey("orders.id", ondelete="CASCADE"))
    symbol: Mapped[str] = mapped_column(String(SYMBOL_LEN))
    side: Mapped[str] = mapped_column(String(8))
    qty: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(Money())
    fee: Mapped[Decimal] = mapped_column(Money())
    ts: Mapped[datetime] = mapped_column(UTCDateTime())


class PositionModel(Base):
    """The latest snapshot of each position (flat ones too: their realised P&L still counts).

    ``lots`` holds the FIFO lots exactly (JSON list of {"qty": int, "price": "<decimal text>"}); ``qty`` and
    ``avg_price`` are derived from them and kept as columns for SQL readers and dashboards.
    """

    __tablename__ = "positions"

    run_id: Mapped[str] = mapped_column(String(ID_LEN), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(SYMBOL_LEN), primary_key=True)
    qty: Mapped[int] = mapped_column(Integer)
    avg_price: Mapped[Decimal] = mapped_column(Money())
    realized_pnl: Mapped[Decimal] = mapped_column(Money())
    lots: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EquityModel(Base):
    """One account snapshot per cycle: the equity curve."""

    __tablename__ = "equity"
    __table_args__ = (Index("ix_equity_run_ts", "run_id", "ts"),)

    run_id: Mapped[str] = mapped_column(String(ID_LEN), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    cycle: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    cash: Mapped[Decimal] = mapped_column(Money())
    market_value: Mapped[Decimal] = mapped_column(Money())
    equity: Mapped[Decimal] = mapped_column(Money())
    gross_exposure: Mapped[float] = mapped_column(Float)


class EventModel(Base):
    """The run's event log in publication order (run-wide seq), with JSON payloads."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_run_ts", "run_id", "ts"),
        Index("ix_events_run_kind", "run_id", "kind"),
    )

    run_id: Mapped[str] = mapped_column(String(ID_LEN), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    cycle: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


# The Alpha Vantage key budget ledger (data/adapters/alphavantage/keys.py) keeps its counters in the same database,
# so its tables are part of this schema and of its migrations (revision 0002), not created on the side.

#: One row per key (by fingerprint): retirement, throttle backoff and spacing state.
key_state = Table(
    "av_key_state",
    Base.metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("tier", String(16), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("last_sent_at", UTCDateTime(), nullable=True),
    Column("retired_until", UTCDateTime(), nullable=True),
    Column("retired_reason", String(64), nullable=True),
    Column("backoff_until", UTCDateTime(), nullable=True),
    Column("throttle_count", Integer, nullable=False, default=0),
)

#: One row per reserved request slot; rows older than the budget windows are pruned.
key_reservations = Table(
    "av_key_reservations",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False),
    Column("reserved_at", UTCDateTime(), nullable=False),
    Index("ix_av_key_reservations_fp_at", "fingerprint", "reserved_at"),
)
