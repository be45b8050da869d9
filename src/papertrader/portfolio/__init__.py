"""The Decimal ledger and the performance metrics computed from it."""
