"""Ids that are unique yet reproducible, so a resumed run regenerates the same order ids."""

from __future__ import annotations

import uuid
from datetime import datetime


def new_run_id(started: datetime) -> str:
    """A sortable, collision-resistant run id: UTC start time plus a random suffix."""
    return f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def order_id(run_id: str, cycle: int, seq: int) -> str:
    """Deterministic order id from the run, the cycle index and the order's place in that cycle."""
    return f"{run_id}:{cycle:08d}:{seq:04d}"
