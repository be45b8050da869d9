"""The run repository: every cycle's state changes and events land in one transaction, replays are no-ops.

Event sequence numbers are assigned here: each stored event gets the next run-wide ``seq`` after the
largest already stored for the run (starting at 1), in the order the records and their events are given.
Because a whole cycle is skipped when its number is not above the run's ``last_cycle``, replaying cycles
after a crash stores neither their events nor their fills a second time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import ConfigError, DataError, HaltError, TemporaryError
from papertrader.domain.events import CycleClosed, DomainEvent, event_from_record
from papertrader.domain.types import Fill, Lot, Order, OrderStatus, OrderType, Position, Side, TimeInForce
from papertrader.persistence.db import SQLITE_BEGIN_OPTION
from papertrader.persistence.jsonable import to_jsonable
from papertrader.persistence.models import (
    EquityModel,
    EventModel,
    FillModel,
    OrderModel,
    PositionModel,
    RunMode,
    RunModel,
    RunStatus,
)
from papertrader.persistence.types import to_decimal

_CHUNK = 500
EQUITY_COLUMNS = ("cycle", "ts", "cash", "market_value", "equity", "gross_exposure")


class RunExistsError(ConfigError):
    """A run with this id is already stored: pick a new id or resume it explicitly."""


class RunNotFoundError(DataError):
    """No run with this id is stored: create it first or check the id."""


class RecordConflictError(HaltError):
    """Stored state disagrees with what is being written (same key, different content): investigate."""


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What a run is set up with; stored once when the run starts."""

    id: str
    mode: str
    interval: str
    symbols: tuple[str, ...]
    start: datetime | None
    end: datetime | None
    initial_cash: Decimal
    config: dict[str, Any] = field(hash=False)
    created_at: datetime

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a run needs a non-empty id")
        if self.mode not in {m.value for m in RunMode}:
            raise ValueError(f"run mode must be one of {[m.value for m in RunMode]}, got {self.mode!r}")
        object.__setattr__(self, "symbols", tuple(self.symbols))
        to_decimal(self.initial_cash)


@dataclass(frozen=True, slots=True)
class RunRow:
    """A stored run as readers see it: setup, status, progress marker and summary."""

    id: str
    mode: RunMode
    status: RunStatus
    interval: str
    symbols: tuple[str, ...]
    start: datetime | None
    end: datetime | None
    initial_cash: Decimal
    config: dict[str, Any] = field(hash=False)
    created_at: datetime
    finished_at: datetime | None
    last_cycle: int
    last_cycle_ts: datetime | None
    summary: dict[str, Any] | None = field(hash=False)

    @property
    def info(self) -> RunInfo:
        """The setup this run was created with, e.g. to resume it."""
        return RunInfo(
            id=self.id,
            mode=self.mode,
            interval=self.interval,
            symbols=self.symbols,
            start=self.start,
            end=self.end,
            initial_cash=self.initial_cash,
            config=self.config,
            created_at=self.created_at,
        )


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """Everything one cycle changed: the unit that is stored atomically and skipped on replay.

    ``orders`` holds the latest state of every order created or changed this cycle, ``positions`` the
    positions that changed; ``events`` get run-wide seq numbers from the repository.
    """

    cycle: int
    ts: datetime
    orders: tuple[Order, ...]
    fills: tuple[Fill, ...]
    positions: tuple[Position, ...]
    cash: Decimal
    market_value: Decimal
    equity: Decimal
    gross_exposure: float
    events: tuple[DomainEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class QuoteRecord:
    """What quotes between two bar closes changed (orders, fills, positions, events), stored before it is reported.

    It is stored under the cycle that would otherwise have carried it (the run's last committed cycle + 1), with
    no equity row: that cycle's own record adds one when its bar closes.
    """

    ts: datetime
    orders: tuple[Order, ...]
    fills: tuple[Fill, ...]
    positions: tuple[Position, ...]
    events: tuple[DomainEvent, ...] = ()


def _run_row(m: RunModel) -> RunRow:
    return RunRow(
        id=m.id,
        mode=RunMode(m.mode),
        status=RunStatus(m.status),
        interval=m.interval,
        symbols=tuple(m.symbols),
        start=m.start,
        end=m.end,
        initial_cash=m.initial_cash,
        config=dict(m.config),
        created_at=m.created_at,
        finished_at=m.finished_at,
        last_cycle=m.last_cycle,
        last_cycle_ts=m.last_cycle_ts,
        summary=None if m.summary is None else dict(m.summary),
    )


def _order_values(run_id: str, o: Order) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "symbol": o.symbol,
        "side": o.side.value,
        "qty": o.qty,
        "type": o.type.value,
        "limit_price": o.limit_price,
        "tif": o.tif.value,
        "status": o.status.value,
        "filled_qty": o.filled_qty,
        "avg_fill_price": o.avg_fill_price,
        "reason": o.reason,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
        "tag": o.tag,
        "stop_price": o.stop_price,
        "parent_id": o.parent_id,
        "oco_group": o.oco_group,
        "replaces": o.replaces,
        "triggered_at": o.triggered_at,
        "extended_hours": o.extended_hours,
    }


def _order(m: Any) -> Order:
    return Order(
        id=m.id,
        symbol=m.symbol,
        side=Side(m.side),
        qty=m.qty,
        type=OrderType(m.type),
        created_at=m.created_at,
        limit_price=m.limit_price,
        tif=TimeInForce(m.tif),
        status=OrderStatus(m.status),
        filled_qty=m.filled_qty,
        avg_fill_price=m.avg_fill_price,
        reason=m.reason,
        updated_at=m.updated_at,
        tag=m.tag,
        stop_price=m.stop_price,
        parent_id=m.parent_id,
        oco_group=m.oco_group,
        replaces=m.replaces,
        triggered_at=m.triggered_at,
        extended_hours=bool(m.extended_hours),
    )


def _fill(m: Any) -> Fill:
    return Fill(
        order_id=m.order_id,
        symbol=m.symbol,
        side=Side(m.side),
        qty=m.qty,
        price=m.price,
        fee=m.fee,
        ts=m.ts,
        seq=m.seq,
    )


@dataclass(frozen=True)
class PositionColumns:
    """A positions row's derived columns as stored (SQL readers and dashboards use them, not the lots)."""

    qty: int
    avg_price: Decimal
    realized_pnl: Decimal


def _position(m: Any) -> Position:
    lots = tuple(Lot(int(lot["qty"]), Decimal(str(lot["price"]))) for lot in m.lots)
    return Position(m.symbol, lots, m.realized_pnl)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _is_lock_error(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text


class RunRepository:
    """Stores and reads runs; the engine's only way to persist, the API's and reports' way to read."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock: Clock = clock if clock is not None else WallClock()

    @property
    def engine(self) -> Engine:
        """The engine this repository writes through, for callers that need raw SQL."""
        return self._engine

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction; on SQLite it takes the write lock at BEGIN (IMMEDIATE)."""
        try:
            with self._engine.connect() as conn:
                conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
                with conn.begin():
                    yield conn
        except OperationalError as exc:
            if _is_lock_error(exc):
                raise TemporaryError(f"database busy, retry later: {exc.orig}") from exc
            raise

    # ---- runs -------------------------------------------------------------------------------

    def create_run(self, info: RunInfo, *, resume: bool = False) -> RunRow:
        """Register a run before its first cycle; with resume=True reopen a stored one after a crash.

        Raises RunExistsError if the id is taken and resume is False, and ConfigError if resuming with a
        different mode, interval, symbols or initial cash. Returns the stored row (its last_cycle tells
        a resumed engine where to continue).
        """
        with self._write() as conn:
            existing = conn.execute(select(RunModel).where(RunModel.id == info.id).with_for_update()).first()
            if existing is None:
                try:
                    conn.execute(
                        insert(RunModel).values(
                            id=info.id,
                            mode=RunMode(info.mode).value,
                            status=RunStatus.RUNNING.value,
                            created_at=info.created_at,
                            finished_at=None,
                            interval=info.interval,
                            symbols=list(info.symbols),
                            start=info.start,
                            end=info.end,
                            initial_cash=info.initial_cash,
                            config=to_jsonable(info.config),
                            last_cycle=-1,
                            last_cycle_ts=None,
                            summary=None,
                        )
                    )
                except IntegrityError as exc:  # a concurrent creator won the race
                    raise RunExistsError(f"run {info.id} already exists") from exc
            elif not resume:
                raise RunExistsError(f"run {info.id} already exists: use a new id or resume it")
            else:
                stored = {
                    "mode": (existing.mode, RunMode(info.mode).value),
                    "interval": (existing.interval, info.interval),
                    "symbols": (tuple(existing.symbols), info.symbols),
                    "initial_cash": (existing.initial_cash, info.initial_cash),
                }
                for name, (old, new) in stored.items():
                    if old != new:
                        raise ConfigError(f"cannot resume run {info.id}: {name} was {old!r}, now {new!r}")
                conn.execute(
                    update(RunModel)
                    .where(RunModel.id == info.id)
                    .values(status=RunStatus.RUNNING.value, finished_at=None, summary=None)
                )
        row = self.get_run(info.id)
        assert row is not None
        return row

    def get_run(self, run_id: str) -> RunRow | None:
        """Read one run's setup and progress, or None if it was never created."""
        with Session(self._engine) as session:
            model = session.get(RunModel, run_id)
            return None if model is None else _run_row(model)

    def list_runs(self) -> list[RunRow]:
        """All runs, newest first, for run pickers and reports."""
        with Session(self._engine) as session:
            models = session.scalars(select(RunModel).order_by(RunModel.created_at.desc(), RunModel.id.desc()))
            return [_run_row(m) for m in models]

    def finish_run(
        self,
        run_id: str,
        status: RunStatus | str,
        summary: dict[str, Any],
        *,
        finished_at: datetime | None = None,
    ) -> None:
        """Close a run with its outcome and summary, so readers know it will not change any more."""
        final = RunStatus(status)
        if final is RunStatus.RUNNING:
            raise ValueError("finish_run needs a final status (finished, failed or interrupted)")
        at = finished_at if finished_at is not None else self._clock.now()
        with self._write() as conn:
            result = conn.execute(
                update(RunModel)
                .where(RunModel.id == run_id)
                .values(status=final.value, finished_at=at, summary=to_jsonable(summary))
            )
            if result.rowcount == 0:
                raise RunNotFoundError(f"run {run_id} does not exist")

    # ---- cycles -----------------------------------------------------------------------------

    def record_cycles(self, run_id: str, records: Sequence[CycleRecord]) -> int:
        """Store a batch of cycles all-or-nothing, skipping cycles already stored; returns how many were new.

        Records must have strictly increasing cycle numbers. A record whose cycle is <= the run's
        last_cycle is skipped whole, so replaying after a crash is harmless. A fill whose (run, seq) is
        already stored is ignored if identical and raises RecordConflictError if different.
        """
        batch = list(records)
        for prev, nxt in itertools.pairwise(batch):
            if nxt.cycle <= prev.cycle:
                raise ValueError(f"cycles must strictly increase, got {prev.cycle} then {nxt.cycle}")
        if not batch:
            return 0
        with self._write() as conn:
            last = self._last_cycle_locked(conn, run_id)
            todo = [r for r in batch if r.cycle > last]
            if not todo:
                return 0
            self._upsert_orders(conn, run_id, todo)
            self._insert_fills(conn, run_id, todo)
            self._upsert_positions(conn, run_id, todo)
            conn.execute(
                insert(EquityModel),
                [
                    {
                        "run_id": run_id,
                        "cycle": r.cycle,
                        "ts": r.ts,
                        "cash": r.cash,
                        "market_value": r.market_value,
                        "equity": r.equity,
                        "gross_exposure": float(r.gross_exposure),
                    }
                    for r in todo
                ],
            )
            self._insert_events(conn, run_id, todo)
            conn.execute(
                update(RunModel)
                .where(RunModel.id == run_id)
                .values(last_cycle=todo[-1].cycle, last_cycle_ts=todo[-1].ts)
            )
            return len(todo)

    def record_quotes(self, run_id: str, record: QuoteRecord) -> int:
        """Store what quotes did between closes, all-or-nothing, under the next cycle; returns that cycle.

        Fills, order states, positions and events are written as the next cycle's record would write them (so a
        resume after a crash restores them, and a run that never crashed stores the same rows); the run's last
        cycle and equity curve are left to that cycle.
        """
        with self._write() as conn:
            last = self._last_cycle_locked(conn, run_id)
            zero = Decimal(0)  # the writers below read orders, fills, positions and events only, never the money
            rows = [
                CycleRecord(
                    last + 1,
                    record.ts,
                    record.orders,
                    record.fills,
                    record.positions,
                    zero,
                    zero,
                    zero,
                    0.0,
                    record.events,
                )
            ]
            self._upsert_orders(conn, run_id, rows)
            self._insert_fills(conn, run_id, rows)
            self._upsert_positions(conn, run_id, rows)
            self._insert_events(conn, run_id, rows)
            return int(last + 1)

    @staticmethod
    def _last_cycle_locked(conn: Connection, run_id: str) -> int:
        """The run's last committed cycle, its row locked for this write (cycles and quotes append after it)."""
        last: int | None = conn.execute(
            select(RunModel.last_cycle).where(RunModel.id == run_id).with_for_update()
        ).scalar_one_or_none()
        if last is None:
            raise RunNotFoundError(f"run {run_id} does not exist: create_run first")
        return last

    def _upsert_orders(self, conn: Connection, run_id: str, records: Sequence[CycleRecord]) -> None:
        latest: dict[str, Order] = {}
        for record in records:
            for order in record.orders:
                latest[order.id] = order
        if not latest:
            return
        stored: dict[str, str] = {}
        for chunk in _chunks(list(latest)):
            rows = conn.execute(select(OrderModel.id, OrderModel.run_id).where(OrderModel.id.in_(chunk)))
            stored.update({oid: rid for oid, rid in rows})
        foreign = sorted(oid for oid, rid in stored.items() if rid != run_id)
        if foreign:
            raise RecordConflictError(f"orders {foreign[:5]} belong to another run, not {run_id}")
        updates = [{"b_id": oid, **_order_values(run_id, o)} for oid, o in latest.items() if oid in stored]
        inserts = [{"id": oid, **_order_values(run_id, o)} for oid, o in latest.items() if oid not in stored]
        if updates:
            conn.execute(update(OrderModel).where(OrderModel.id == bindparam("b_id")), updates)
        if inserts:
            conn.execute(insert(OrderModel), inserts)

    def _insert_fills(self, conn: Connection, run_id: str, records: Sequence[CycleRecord]) -> None:
        new: dict[int, tuple[Fill, int]] = {}
        for record in records:
            for fill in record.fills:
                seen = new.get(fill.seq)
                if seen is None:
                    new[fill.seq] = (fill, record.cycle)
                elif seen[0] != fill:
                    raise RecordConflictError(f"run {run_id}: two different fills with seq {fill.seq}")
        if not new:
            return
        stored = conn.execute(
            select(FillModel).where(FillModel.run_id == run_id, FillModel.seq.between(min(new), max(new)))
        )
        for row in stored:
            if row.seq not in new:
                continue
            if _fill(row) != new[row.seq][0]:
                raise RecordConflictError(
                    f"run {run_id}: fill seq {row.seq} is stored as {_fill(row)}, now {new[row.seq][0]}"
                )
            del new[row.seq]
        if not new:
            return
        conn.execute(
            insert(FillModel),
            [
                {
                    "run_id": run_id,
                    "seq": f.seq,
                    "cycle": cycle,
                    "order_id": f.order_id,
                    "symbol": f.symbol,
                    "side": f.side.value,
                    "qty": f.qty,
                    "price": f.price,
                    "fee": f.fee,
                    "ts": f.ts,
                }
                for f, cycle in new.values()
            ],
        )

    def _upsert_positions(self, conn: Connection, run_id: str, records: Sequence[CycleRecord]) -> None:
        latest: dict[str, tuple[Position, datetime]] = {}
        for record in records:
            for position in record.positions:
                latest[position.symbol] = (position, record.ts)
        if not latest:
            return
        stored: set[str] = set()
        for chunk in _chunks(list(latest)):
            stored.update(
                conn.scalars(
                    select(PositionModel.symbol).where(PositionModel.run_id == run_id, PositionModel.symbol.in_(chunk))
                )
            )

        def values(p: Position, ts: datetime) -> dict[str, Any]:
            return {
                "qty": p.qty,
                "avg_price": p.avg_price,
                "realized_pnl": p.realized_pnl,
                "lots": [{"qty": lot.qty, "price": format(to_decimal(lot.price), "f")} for lot in p.lots],
                "updated_at": ts,
            }

        updates = [{"b_symbol": s, **values(p, ts)} for s, (p, ts) in latest.items() if s in stored]
        inserts = [{"run_id": run_id, "symbol": s, **values(p, ts)} for s, (p, ts) in latest.items() if s not in stored]
        if updates:
            conn.execute(
                update(PositionModel).where(
                    PositionModel.run_id == run_id, PositionModel.symbol == bindparam("b_symbol")
                ),
                updates,
            )
        if inserts:
            conn.execute(insert(PositionModel), inserts)

    def _insert_events(self, conn: Connection, run_id: str, records: Sequence[CycleRecord]) -> None:
        if not any(r.events for r in records):
            return
        top = conn.execute(select(func.max(EventModel.seq)).where(EventModel.run_id == run_id)).scalar()
        seq = int(top or 0)
        rows: list[dict[str, Any]] = []
        for record in records:
            for ev in record.events:
                seq += 1
                rows.append(
                    {
                        "run_id": run_id,
                        "seq": seq,
                        "cycle": record.cycle,
                        "ts": ev.ts,
                        "kind": ev.kind,
                        "payload": event_payload(ev),
                    }
                )
        conn.execute(insert(EventModel), rows)

    # ---- readers ----------------------------------------------------------------------------

    def load_orders(self, run_id: str) -> list[Order]:
        """Every order of the run in its latest state, oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(OrderModel).where(OrderModel.run_id == run_id).order_by(OrderModel.created_at, OrderModel.id)
            )
            return [_order(r) for r in rows]

    def load_fills(self, run_id: str) -> list[Fill]:
        """Every fill of the run in booking (seq) order, so a ledger can be rebuilt from them."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(FillModel).where(FillModel.run_id == run_id).order_by(FillModel.seq))
            return [_fill(r) for r in rows]

    def load_positions(self, run_id: str) -> list[Position]:
        """The latest position per symbol with its exact FIFO lots (flat ones included), sorted by symbol."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(PositionModel).where(PositionModel.run_id == run_id).order_by(PositionModel.symbol)
            )
            return [_position(r) for r in rows]

    def load_position_columns(self, run_id: str) -> dict[str, PositionColumns]:
        """The derived columns (qty, avg_price, realized_pnl) exactly as stored, for `check` to audit them."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(
                    PositionModel.symbol, PositionModel.qty, PositionModel.avg_price, PositionModel.realized_pnl
                ).where(PositionModel.run_id == run_id)
            )
            return {r.symbol: PositionColumns(int(r.qty), r.avg_price, r.realized_pnl) for r in rows}

    def load_equity(self, run_id: str, *, exact: bool = False) -> pd.DataFrame:
        """The equity curve by cycle; money as float64 for plots and metrics, or Decimal with exact=True."""
        with Session(self._engine) as session:
            rows = session.execute(
                select(
                    EquityModel.cycle,
                    EquityModel.ts,
                    EquityModel.cash,
                    EquityModel.market_value,
                    EquityModel.equity,
                    EquityModel.gross_exposure,
                )
                .where(EquityModel.run_id == run_id)
                .order_by(EquityModel.cycle)
            ).all()

        def money(values: list[Decimal]) -> pd.Series:
            if exact:
                return pd.Series(values, dtype=object)
            return pd.Series([float(v) for v in values], dtype="float64")

        return pd.DataFrame(
            {
                "cycle": pd.Series([r.cycle for r in rows], dtype="int64"),
                "ts": pd.Series(pd.to_datetime([r.ts for r in rows], utc=True)),
                "cash": money([r.cash for r in rows]),
                "market_value": money([r.market_value for r in rows]),
                "equity": money([r.equity for r in rows]),
                "gross_exposure": pd.Series([r.gross_exposure for r in rows], dtype="float64"),
            },
            columns=list(EQUITY_COLUMNS),
        )

    def load_events(self, run_id: str, kinds: Sequence[str] | None = None) -> list[DomainEvent]:
        """The run's events in publication order, optionally only some kinds, typed (domain.events catalogue).

        A row of a kind this version does not know (or whose payload does not fit) comes back as an UnknownEvent.
        """
        stmt = select(EventModel).where(EventModel.run_id == run_id)
        if kinds is not None:
            wanted = [kinds] if isinstance(kinds, str) else list(kinds)
            if not wanted:
                return []
            stmt = stmt.where(EventModel.kind.in_(wanted))
        with self._engine.connect() as conn:
            rows = conn.execute(stmt.order_by(EventModel.seq))
            return [event_from_record(r.ts, r.kind, r.payload or {}) for r in rows]


def event_payload(event: DomainEvent) -> Any:
    """The JSON payload stored for an event: `to_jsonable(event.to_dict())`, built directly for `CycleClosed`
    (one per cycle, the bulk of a backtest's events; the same dict, key for key)."""
    if type(event) is CycleClosed:
        return {
            "cycle": int(event.cycle),
            "cash": str(event.cash),
            "equity": str(event.equity),
            "gross_exposure": str(event.gross_exposure),
            "fills": int(event.fills),
            "orders": int(event.orders),
        }
    return to_jsonable(event.to_dict())
