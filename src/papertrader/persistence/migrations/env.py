"""Alembic environment: migrations always run on the connection papertrader opened (never from an ini file)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from papertrader.persistence.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection) or context.is_offline_mode():
    raise RuntimeError("papertrader migrations run online, on the connection papertrader.persistence.migrate opens")
# render_as_batch: SQLite cannot ALTER most things in place; batch mode rebuilds the table inside the transaction.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
