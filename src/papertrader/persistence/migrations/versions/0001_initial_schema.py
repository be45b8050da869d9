"""Initial schema: the ledger exactly as ``create_all`` made it before Alembic (release 0.1.0).

Revision ID: 0001
Revises:
Create Date: 2026-12-07

Idempotent on purpose: a database made by ``create_all`` before Alembic has some or all of these tables already,
so each table and index is created only when missing (papertrader then checks every column is there).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

from papertrader.persistence.types import Money, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

TABLES = ("runs", "equity", "events", "orders", "positions", "fills")


def _create_table(name: str, *elements: SchemaItem) -> None:
    if not sa.inspect(op.get_bind()).has_table(name):
        op.create_table(name, *elements)


def _create_index(name: str, table: str, columns: list[str]) -> None:
    if name not in {index["name"] for index in sa.inspect(op.get_bind()).get_indexes(table)}:
        op.create_index(name, table, columns, unique=False)


def upgrade() -> None:
    """Create every ledger table and index that is missing."""
    _create_table(
        "runs",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("interval", sa.String(length=16), nullable=False),
        sa.Column("symbols", sa.JSON(), nullable=False),
        sa.Column("start", UTCDateTime(timezone=True), nullable=True),
        sa.Column("end", UTCDateTime(timezone=True), nullable=True),
        sa.Column("initial_cash", Money(precision=28, scale=10), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("last_cycle", sa.Integer(), server_default="-1", nullable=False),
        sa.Column("last_cycle_ts", UTCDateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON(none_as_null=True), nullable=True),
        sa.CheckConstraint("mode IN ('backtest', 'replay', 'live')", name="ck_runs_mode"),
        sa.CheckConstraint("status IN ('running', 'finished', 'failed', 'interrupted')", name="ck_runs_status"),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_table(
        "equity",
        sa.Column("run_id", sa.String(length=128), nullable=False),
        sa.Column("cycle", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ts", UTCDateTime(timezone=True), nullable=False),
        sa.Column("cash", Money(precision=28, scale=10), nullable=False),
        sa.Column("market_value", Money(precision=28, scale=10), nullable=False),
        sa.Column("equity", Money(precision=28, scale=10), nullable=False),
        sa.Column("gross_exposure", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "cycle"),
    )
    _create_table(
        "events",
        sa.Column("run_id", sa.String(length=128), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("ts", UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "seq"),
    )
    _create_table(
        "orders",
        sa.Column("id", sa.String(length=256), nullable=False),
        sa.Column("run_id", sa.String(length=128), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("limit_price", Money(precision=28, scale=10), nullable=True),
        sa.Column("tif", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("filled_qty", sa.Integer(), nullable=False),
        sa.Column("avg_fill_price", Money(precision=28, scale=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("stop_price", Money(precision=28, scale=10), nullable=True),
        sa.Column("parent_id", sa.String(length=256), nullable=True),
        sa.Column("oco_group", sa.String(length=256), nullable=True),
        sa.Column("replaces", sa.String(length=256), nullable=True),
        sa.Column("triggered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("extended_hours", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_table(
        "positions",
        sa.Column("run_id", sa.String(length=128), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("avg_price", Money(precision=28, scale=10), nullable=False),
        sa.Column("realized_pnl", Money(precision=28, scale=10), nullable=False),
        sa.Column("lots", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "symbol"),
    )
    _create_table(
        "fills",
        sa.Column("run_id", sa.String(length=128), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=256), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("price", Money(precision=28, scale=10), nullable=False),
        sa.Column("fee", Money(precision=28, scale=10), nullable=False),
        sa.Column("ts", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "seq"),
    )
    _create_index("ix_runs_created_at", "runs", ["created_at"])
    _create_index("ix_equity_run_ts", "equity", ["run_id", "ts"])
    _create_index("ix_events_run_kind", "events", ["run_id", "kind"])
    _create_index("ix_events_run_ts", "events", ["run_id", "ts"])
    _create_index("ix_orders_run_created", "orders", ["run_id", "created_at"])
    _create_index("ix_fills_order", "fills", ["order_id"])
    _create_index("ix_fills_run_ts", "fills", ["run_id", "ts"])


def downgrade() -> None:
    """Drop the ledger (children first): only for tests; papertrader never downgrades a user's database."""
    for name in reversed(TABLES):
        op.drop_table(name)
