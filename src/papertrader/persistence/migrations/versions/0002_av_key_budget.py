"""The Alpha Vantage key budget tables under Alembic (they were made by ``create_all`` on the side until now).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07

Release 0.1.0's key manager (data/adapters/alphavantage/keys.py) created ``av_key_state`` and
``av_key_reservations`` in the ledger database itself, with ``create_all``, whenever Alpha Vantage keys were used.
A database may therefore have them (with months of budget counts: kept as they are) or not: each table and index
is created only when missing, exactly as that release declared it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

from papertrader.persistence.types import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = ("av_key_state", "av_key_reservations")


def _create_table(name: str, *elements: SchemaItem) -> None:
    if not sa.inspect(op.get_bind()).has_table(name):
        op.create_table(name, *elements)


def upgrade() -> None:
    """Create the key budget tables and their index where missing; existing rows are untouched."""
    _create_table(
        "av_key_state",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("last_sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_reason", sa.String(length=64), nullable=True),
        sa.Column("backoff_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("throttle_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint"),
    )
    _create_table(
        "av_key_reservations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("reserved_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    indexes = {index["name"] for index in sa.inspect(op.get_bind()).get_indexes("av_key_reservations")}
    if "ix_av_key_reservations_fp_at" not in indexes:
        op.create_index("ix_av_key_reservations_fp_at", "av_key_reservations", ["fingerprint", "reserved_at"])


def downgrade() -> None:
    """Drop the key budget tables: only for tests; papertrader never downgrades a user's database."""
    for name in reversed(TABLES):
        op.drop_table(name)
