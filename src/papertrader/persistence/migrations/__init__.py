"""Alembic migration scripts for the ledger database; they ship inside the package so a pip user can upgrade."""
