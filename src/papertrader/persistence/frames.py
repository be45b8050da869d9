"""A stored run as pandas DataFrames, so a notebook or a spreadsheet never has to read SQLite by hand.

`load_run(run_id)` is exported at the package top level (``from papertrader import load_run``);
`papertrader export RUN --format csv|parquet DIR` writes the same frames to files. Everything goes through
the repository's readers, so the frames are exactly what `check`, the reports and the API see.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pandas as pd
from sqlalchemy import Engine, make_url

from papertrader.config.settings import Settings
from papertrader.domain.types import Fill, Order, Position
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.decisions import StoredDecision, load_decisions
from papertrader.persistence.repository import RunNotFoundError, RunRepository, RunRow

FORMATS: Final = ("csv", "parquet")
_FILL_FIELDS: Final = tuple(f.name for f in dataclasses.fields(Fill))
_ORDER_FIELDS: Final = tuple(f.name for f in dataclasses.fields(Order))
_POSITION_COLUMNS: Final = ("symbol", "qty", "avg_price", "cost_basis", "realized_pnl", "lots")
_DECISION_COLUMNS: Final = (
    "seq",
    "cycle",
    "ts",
    "symbol",
    "source",
    "target_weight",
    "confidence",
    "rationale",
    "votes",
)
_VOTE_COLUMNS: Final = (
    "seq",
    "cycle",
    "ts",
    "symbol",
    "member",
    "timeframe",
    "p_up",
    "p_down",
    "exit",
    "weight",
    "reason",
)


@dataclass(frozen=True)
class RunFrames:
    """One run's tables: join decisions and votes on ``seq``; money is float64 unless loaded exact."""

    run: RunRow
    equity: pd.DataFrame
    fills: pd.DataFrame
    orders: pd.DataFrame
    positions: pd.DataFrame
    decisions: pd.DataFrame
    votes: pd.DataFrame

    def tables(self) -> Iterator[tuple[str, pd.DataFrame]]:
        """(name, frame) for every table, in a fixed order: what an export writes."""
        yield from (
            ("equity", self.equity),
            ("fills", self.fills),
            ("orders", self.orders),
            ("positions", self.positions),
            ("decisions", self.decisions),
            ("votes", self.votes),
        )

    def run_info(self) -> dict[str, Any]:
        """The run's setup, status and summary as plain JSON (written beside the tables on export)."""
        r = self.run
        return {
            "id": r.id,
            "mode": r.mode.value,
            "status": r.status.value,
            "interval": r.interval,
            "symbols": list(r.symbols),
            "start": _iso(r.start),
            "end": _iso(r.end),
            "initial_cash": str(r.initial_cash),
            "created_at": _iso(r.created_at),
            "finished_at": _iso(r.finished_at),
            "last_cycle": r.last_cycle,
            "last_cycle_ts": _iso(r.last_cycle_ts),
            "summary": r.summary,
            "config": r.config,
        }


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.isoformat()


def _cell(value: Any, exact: bool) -> Any:
    """One dataclass field as a frame cell: enums by value, money as float (or Decimal when exact)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal) and not exact:
        return float(value)
    return value


def _records(items: Iterable[Any], names: tuple[str, ...], exact: bool) -> pd.DataFrame:
    rows = [{n: _cell(getattr(item, n), exact) for n in names} for item in items]
    return _with_utc(pd.DataFrame(rows, columns=list(names)))


def _with_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamp columns as tz-aware UTC datetimes (None becomes NaT), whatever pandas inferred."""
    for col in frame.columns:
        if col == "ts" or col.endswith("_at"):
            frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def _positions(positions: Iterable[Position], exact: bool) -> pd.DataFrame:
    rows = [
        {
            "symbol": p.symbol,
            "qty": p.qty,
            "avg_price": _cell(p.avg_price, exact),
            "cost_basis": _cell(p.cost_basis, exact),
            "realized_pnl": _cell(p.realized_pnl, exact),
            "lots": len(p.lots),
        }
        for p in positions
    ]
    return pd.DataFrame(rows, columns=list(_POSITION_COLUMNS))


def _decisions(decisions: tuple[StoredDecision, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [{**{c: getattr(d, c) for c in _DECISION_COLUMNS[:-1]}, "votes": len(d.votes)} for d in decisions]
    votes = [
        {"seq": d.seq, "cycle": d.cycle, "ts": d.ts, "symbol": d.symbol, **v.to_json()}
        for d in decisions
        for v in d.votes
    ]
    return (
        _with_utc(pd.DataFrame(rows, columns=list(_DECISION_COLUMNS))),
        _with_utc(pd.DataFrame(votes, columns=list(_VOTE_COLUMNS))),
    )


def run_frames(engine: Engine, run_id: str, *, exact: bool = False) -> RunFrames:
    """Read one run from an open database into frames; RunNotFoundError names the runs that do exist."""
    repo = RunRepository(engine)
    row = repo.get_run(run_id)
    if row is None:
        known = ", ".join(r.id for r in repo.list_runs()[:10]) or "none"
        raise RunNotFoundError(f"no run {run_id!r} in this database (runs: {known}); see `papertrader runs`")
    decisions, votes = _decisions(load_decisions(engine, run_id, newest_first=False).decisions)
    return RunFrames(
        run=row,
        equity=repo.load_equity(run_id, exact=exact),
        fills=_records(repo.load_fills(run_id), _FILL_FIELDS, exact),
        orders=_records(repo.load_orders(run_id), _ORDER_FIELDS, exact),
        positions=_positions(repo.load_positions(run_id), exact),
        decisions=decisions,
        votes=votes,
    )


def open_database(home: str | Path | None = None) -> Engine:
    """The ledger database of `home` (default: the settings' home and database URL), never created by reading."""
    settings = Settings() if home is None else Settings(home=Path(home).expanduser())
    url = make_url(settings.db_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database).expanduser()
        if not path.is_file():
            raise RunNotFoundError(f"no papertrader database at {path}: run a backtest or replay first")
    engine = make_engine(url)
    init_db(engine)
    return engine


def load_run(run_id: str, home: str | Path | None = None, *, exact: bool = False) -> RunFrames:
    """A stored run as DataFrames for notebooks: equity, fills, orders, positions, decisions and votes."""
    engine = open_database(home)
    try:
        return run_frames(engine, run_id, exact=exact)
    finally:
        engine.dispose()


def export_run(frames: RunFrames, fmt: str, out_dir: Path) -> list[Path]:
    """Write every table as `<name>.csv` or `<name>.parquet`, plus `run.json`; returns the written paths."""
    if fmt not in FORMATS:
        raise ValueError(f"export format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, frame in frames.tables():
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        written.append(path)
    info = out_dir / "run.json"
    info.write_text(json.dumps(frames.run_info(), indent=2, default=_json_default), encoding="utf-8")
    written.append(info)
    return written


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)
