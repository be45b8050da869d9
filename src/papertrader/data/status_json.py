"""`papertrader data status --json`: what the lake holds and each key's budget, with stable keys for scripts.

Keys: ``lake`` (its path), ``bars`` [{interval, symbol, first, last, rows, quarantined, sources}] with ISO UTC
times (null for a symbol with only quarantined rows), ``series`` (macro series names), ``keys`` [{key (masked),
tier, purpose, used, budget, remaining, window, state, until}] (empty when no Alpha Vantage key is configured).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from papertrader.data.adapters.alphavantage.keys import KeyStatus


def _iso(ts: Any) -> str | None:
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).isoformat()


def _key_state(s: KeyStatus) -> tuple[str, datetime | None]:
    if s.retired_until is not None:
        return f"retired ({s.retired_reason})", s.retired_until
    if s.backoff_until is not None:
        return "backing off", s.backoff_until
    return "ok", None


def status_json(
    lake_root: Path, status: pd.DataFrame, series: Iterable[str], keys: Iterable[KeyStatus]
) -> dict[str, Any]:
    """The same facts `data status` prints, as JSON-ready values (never a full key)."""
    bars = [
        {
            "interval": str(row["interval"]),
            "symbol": str(row["symbol"]),
            "first": _iso(row["first_ts"]),
            "last": _iso(row["last_ts"]),
            "rows": int(row["rows"]),
            "quarantined": int(row["quarantined"]),
            "sources": [s for s in str(row.get("sources") or "").split(",") if s],
        }
        for row in status.to_dict("records")
    ]
    key_rows = []
    for s in keys:
        state, until = _key_state(s)
        key_rows.append(
            {
                "key": s.key,
                "tier": s.tier,
                "purpose": s.purpose,
                "used": s.used,
                "budget": s.budget,
                "remaining": s.remaining,
                "window": s.window,
                "state": state,
                "until": None if until is None else until.isoformat(),
            }
        )
    return {"lake": str(lake_root), "bars": bars, "series": sorted(series), "keys": key_rows}
