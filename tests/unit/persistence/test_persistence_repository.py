"""The run repository: atomic batches, idempotent replays, upserts and faithful round trips."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from persistence_scenario import INITIAL_CASH, T0
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, StatementError

from papertrader.core.clock import SimClock
from papertrader.core.errors import ConfigError
from papertrader.domain.events import event_from_record
from papertrader.domain.types import Fill, Lot, OrderStatus, Position, Side
from papertrader.persistence import (
    EQUITY_COLUMNS,
    CycleRecord,
    EventModel,
    FillModel,
    OrderModel,
    PositionModel,
    RecordConflictError,
    RunExistsError,
    RunInfo,
    RunMode,
    RunNotFoundError,
    RunRepository,
    RunStatus,
    init_db,
    make_engine,
)

Cycles = Callable[[str, int], list[CycleRecord]]


def _count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def _snapshot(repo: RunRepository, run_id: str) -> tuple[Any, ...]:
    return (
        repo.get_run(run_id),
        repo.load_orders(run_id),
        repo.load_fills(run_id),
        repo.load_positions(run_id),
        repo.load_equity(run_id, exact=True).to_dict("list"),
        repo.load_events(run_id),
    )


# ---- runs -------------------------------------------------------------------------------------


def test_create_run_stores_the_setup_and_starts_before_cycle_zero(repo: RunRepository, run_info: RunInfo) -> None:
    row = repo.create_run(run_info)
    assert row == repo.get_run(run_info.id)
    assert row.mode is RunMode.BACKTEST and row.status is RunStatus.RUNNING
    assert row.symbols == ("AAPL", "MSFT")
    assert row.initial_cash == INITIAL_CASH
    assert row.start == T0 and row.end == T0 + timedelta(days=30)
    assert row.config == {"risk": {"max_weight": "0.25"}, "seed": 7}
    assert row.last_cycle == -1 and row.last_cycle_ts is None
    assert row.finished_at is None and row.summary is None


def test_get_run_of_unknown_id_is_none(repo: RunRepository) -> None:
    assert repo.get_run("nope") is None


def test_creating_an_existing_run_without_resume_is_an_error(
    repo: RunRepository, run_id: str, run_info: RunInfo
) -> None:
    with pytest.raises(RunExistsError):
        repo.create_run(run_info)


def test_resuming_a_run_reopens_it_and_reports_where_it_stopped(
    repo: RunRepository, run_id: str, run_info: RunInfo, cycles: Cycles
) -> None:
    repo.record_cycles(run_id, cycles(run_id, 3))
    repo.finish_run(run_id, RunStatus.INTERRUPTED, {"why": "SIGTERM"})
    row = repo.create_run(run_info, resume=True)
    assert row.status is RunStatus.RUNNING and row.last_cycle == 2
    assert row.finished_at is None and row.summary is None
    assert row.info == replace(run_info, config=row.config)  # config comes back as stored JSON


def test_resuming_with_a_different_setup_is_refused(repo: RunRepository, run_id: str, run_info: RunInfo) -> None:
    with pytest.raises(ConfigError, match="symbols"):
        repo.create_run(replace(run_info, symbols=("AAPL",)), resume=True)
    with pytest.raises(ConfigError, match="initial_cash"):
        repo.create_run(replace(run_info, initial_cash=Decimal(1)), resume=True)


def test_resume_of_a_new_run_simply_creates_it(repo: RunRepository, run_info: RunInfo) -> None:
    assert repo.create_run(run_info, resume=True).last_cycle == -1


def test_run_info_rejects_unknown_modes(run_info: RunInfo) -> None:
    with pytest.raises(ValueError, match="mode"):
        replace(run_info, mode="paper")


def test_list_runs_is_newest_first(repo: RunRepository, run_info: RunInfo) -> None:
    for day, rid in [(1, "b"), (0, "a"), (2, "c")]:
        repo.create_run(replace(run_info, id=rid, created_at=T0 + timedelta(days=day)))
    assert [r.id for r in repo.list_runs()] == ["c", "b", "a"]


def test_finish_run_records_status_summary_and_clock_time(engine: Engine, run_id: str) -> None:
    finished = datetime(2024, 2, 1, 21, 0, tzinfo=UTC)
    repo = RunRepository(engine, clock=SimClock(finished))
    repo.finish_run(run_id, "finished", {"sharpe": 1.25, "pnl": Decimal("12.34"), "at": finished})
    row = repo.get_run(run_id)
    assert row is not None
    assert row.status is RunStatus.FINISHED and row.finished_at == finished
    assert row.summary == {"sharpe": 1.25, "pnl": "12.34", "at": "2024-02-01T21:00:00+00:00"}


def test_finish_run_needs_a_final_status_and_an_existing_run(repo: RunRepository, run_id: str) -> None:
    with pytest.raises(ValueError, match="final status"):
        repo.finish_run(run_id, RunStatus.RUNNING, {})
    with pytest.raises(ValueError):
        repo.finish_run(run_id, "done", {})
    with pytest.raises(RunNotFoundError):
        repo.finish_run("missing", RunStatus.FAILED, {})


# ---- cycles: round trips ----------------------------------------------------------------------


def test_load_functions_round_trip_orders_fills_positions_equity_events(
    repo: RunRepository, run_id: str, cycles: Cycles
) -> None:
    records = cycles(run_id, 6)
    assert repo.record_cycles(run_id, records) == 6

    latest_orders = {}
    for r in records:
        for o in r.orders:
            latest_orders[o.id] = o
    assert repo.load_orders(run_id) == list(latest_orders.values())
    assert [o.status for o in repo.load_orders(run_id)] == [OrderStatus.FILLED] * 5 + [OrderStatus.ACCEPTED]
    assert repo.load_orders(run_id)[1].limit_price == Decimal("250.05")

    assert repo.load_fills(run_id) == [f for r in records for f in r.fills]

    latest_positions = {}
    for r in records:
        for p in r.positions:
            latest_positions[p.symbol] = p
    assert repo.load_positions(run_id) == sorted(latest_positions.values(), key=lambda p: p.symbol)

    exact = repo.load_equity(run_id, exact=True)
    assert list(exact.columns) == list(EQUITY_COLUMNS)
    assert list(exact["cash"]) == [r.cash for r in records]  # Decimal, exactly
    assert list(exact["equity"]) == [r.equity for r in records]
    assert list(exact["ts"]) == [pd.Timestamp(r.ts) for r in records]

    events = repo.load_events(run_id)
    assert [(e.ts, e.kind) for e in events] == [(e.ts, e.kind) for r in records for e in r.events]
    first_fill = next(e for e in events if e.kind == "fill")
    assert first_fill.payload["fill"]["price"] == "101.0000001"
    assert isinstance(first_fill.payload["cash"], str)
    assert Decimal(first_fill.payload["cash"]) == records[1].cash


def test_load_equity_gives_float_columns_by_default_for_metrics(
    repo: RunRepository, run_id: str, cycles: Cycles
) -> None:
    repo.record_cycles(run_id, cycles(run_id, 3))
    df = repo.load_equity(run_id)
    assert str(df["cycle"].dtype) == "int64"
    assert str(df["ts"].dtype) == "datetime64[ns, UTC]"
    assert all(str(df[c].dtype) == "float64" for c in ("cash", "market_value", "equity", "gross_exposure"))
    assert df["cycle"].tolist() == [0, 1, 2]


def test_load_equity_of_a_run_without_cycles_is_an_empty_typed_frame(repo: RunRepository, run_id: str) -> None:
    df = repo.load_equity(run_id)
    assert df.empty and list(df.columns) == list(EQUITY_COLUMNS)
    assert str(df["ts"].dtype) == "datetime64[ns, UTC]"


def test_load_events_filters_by_kind(repo: RunRepository, run_id: str, cycles: Cycles) -> None:
    repo.record_cycles(run_id, cycles(run_id, 4))
    assert {e.kind for e in repo.load_events(run_id, ["fill"])} == {"fill"}
    assert len(repo.load_events(run_id, ["fill"])) == 3
    assert len(repo.load_events(run_id, "order")) == 4  # a lone kind is not split into letters
    assert repo.load_events(run_id, []) == []
    assert len(repo.load_events(run_id, None)) == 7


def test_record_cycles_updates_the_runs_progress_marker(repo: RunRepository, run_id: str, cycles: Cycles) -> None:
    records = cycles(run_id, 3)
    repo.record_cycles(run_id, records)
    row = repo.get_run(run_id)
    assert row is not None and row.last_cycle == 2 and row.last_cycle_ts == records[-1].ts


def test_event_seq_numbers_continue_run_wide_across_batches(
    engine: Engine, repo: RunRepository, run_id: str, cycles: Cycles
) -> None:
    records = cycles(run_id, 5)
    repo.record_cycles(run_id, records[:2])
    repo.record_cycles(run_id, records[2:])
    with engine.connect() as conn:
        seqs = conn.execute(select(EventModel.seq).where(EventModel.run_id == run_id).order_by(EventModel.seq))
        assert list(seqs.scalars()) == list(range(1, 10))


def test_runs_do_not_see_each_others_rows(repo: RunRepository, run_info: RunInfo, cycles: Cycles) -> None:
    for rid in ("run-a", "run-b"):
        repo.create_run(replace(run_info, id=rid))
    repo.record_cycles("run-a", cycles("run-a", 3))
    repo.record_cycles("run-b", cycles("run-b", 2))
    assert len(repo.load_orders("run-a")) == 3 and len(repo.load_orders("run-b")) == 2
    assert len(repo.load_fills("run-b")) == 1
    assert len(repo.load_events("run-b")) == 3


# ---- cycles: idempotency and upserts ----------------------------------------------------------


def test_replaying_already_stored_cycles_is_a_no_op(
    engine: Engine, repo: RunRepository, run_id: str, cycles: Cycles
) -> None:
    records = cycles(run_id, 5)
    assert repo.record_cycles(run_id, records[:3]) == 3
    before = _snapshot(repo, run_id)
    assert repo.record_cycles(run_id, records[:3]) == 0  # a crash-restart replaying 0..2
    assert _snapshot(repo, run_id) == before
    assert repo.record_cycles(run_id, records) == 2  # 0..2 skipped, 3..4 stored once
    assert _count(engine, FillModel) == 4
    assert _count(engine, EventModel) == 9
    assert [f.seq for f in repo.load_fills(run_id)] == [1, 2, 3, 4]


def test_order_upsert_keeps_one_row_with_the_latest_status(
    engine: Engine, repo: RunRepository, run_id: str, cycles: Cycles
) -> None:
    records = cycles(run_id, 2)
    repo.record_cycles(run_id, records[:1])
    assert [o.status for o in repo.load_orders(run_id)] == [OrderStatus.ACCEPTED]
    repo.record_cycles(run_id, records[1:])  # cycle 1 carries the same order id, now filled
    with engine.connect() as conn:
        oid = records[0].orders[0].id
        assert conn.execute(select(func.count()).where(OrderModel.id == oid)).scalar_one() == 1
    stored = next(o for o in repo.load_orders(run_id) if o.id == oid)
    assert stored.status is OrderStatus.FILLED and stored.filled_qty == stored.qty
    assert stored.avg_fill_price == Decimal("101.0000001")


def test_an_identical_fill_sent_again_is_ignored(
    engine: Engine, repo: RunRepository, run_id: str, cycles: Cycles
) -> None:
    records = cycles(run_id, 4)
    repo.record_cycles(run_id, records[:3])
    again = replace(records[3], fills=(*records[3].fills, records[1].fills[0]))
    repo.record_cycles(run_id, [again])
    assert _count(engine, FillModel) == 3
    assert repo.load_fills(run_id) == [f for r in records for f in r.fills]


def test_a_different_fill_with_a_stored_seq_is_a_conflict(repo: RunRepository, run_id: str, cycles: Cycles) -> None:
    records = cycles(run_id, 4)
    repo.record_cycles(run_id, records[:3])
    clash = replace(records[1].fills[0], qty=999)
    with pytest.raises(RecordConflictError, match="seq 1"):
        repo.record_cycles(run_id, [replace(records[3], fills=(clash,))])


def test_two_different_fills_with_one_seq_in_a_batch_are_a_conflict(
    repo: RunRepository, run_id: str, cycles: Cycles
) -> None:
    records = cycles(run_id, 3)
    clash = replace(records[2].fills[0], seq=records[1].fills[0].seq)
    with pytest.raises(RecordConflictError):
        repo.record_cycles(run_id, [records[0], records[1], replace(records[2], fills=(clash,))])


# ---- cycles: atomicity ------------------------------------------------------------------------


def _conflicting_fill(records: list[CycleRecord]) -> CycleRecord:
    bad = replace(records[1].fills[0], price=Decimal("1"))  # same seq as a stored fill, other price
    return replace(records[4], fills=(*records[4].fills, bad))


def _naive_event(records: list[CycleRecord]) -> CycleRecord:
    return replace(records[4], events=(event_from_record(datetime(2024, 1, 7), "oops", {}),))


def _unstorable_payload(records: list[CycleRecord]) -> CycleRecord:
    return replace(records[4], events=(event_from_record(records[4].ts, "oops", {"x": object()}),))


def _fill_of_unknown_order(records: list[CycleRecord]) -> CycleRecord:
    ghost = Fill("ghost-order", "AAPL", Side.BUY, 1, Decimal(1), Decimal(0), records[4].ts, seq=99)
    return replace(records[4], fills=(ghost,))


@pytest.mark.parametrize(
    ("make_bad", "error"),
    [
        (_conflicting_fill, RecordConflictError),
        (_naive_event, StatementError),
        (_unstorable_payload, TypeError),
        (_fill_of_unknown_order, IntegrityError),
    ],
    ids=["conflicting-fill", "naive-event-ts", "unstorable-payload", "fill-of-unknown-order"],
)
@pytest.mark.parametrize("url_kind", ["file", "memory"])
def test_record_cycles_is_all_or_nothing_when_a_later_record_fails(
    db_url: str,
    run_info: RunInfo,
    cycles: Cycles,
    make_bad: Callable[[list[CycleRecord]], CycleRecord],
    error: type[Exception],
    url_kind: str,
) -> None:
    eng = make_engine(db_url if url_kind == "file" else "sqlite://")
    init_db(eng)
    repo = RunRepository(eng)
    run_id = run_info.id
    repo.create_run(run_info)
    records = cycles(run_id, 5)
    repo.record_cycles(run_id, records[:3])
    before = _snapshot(repo, run_id)
    counts = [_count(eng, m) for m in (OrderModel, FillModel, EventModel)]

    # record 3 is fine (it fills and updates a stored order, adds a fill, equity and events); record 4 fails
    with pytest.raises(error):
        repo.record_cycles(run_id, [records[3], make_bad(records)])

    assert _snapshot(repo, run_id) == before
    assert [_count(eng, m) for m in (OrderModel, FillModel, EventModel)] == counts
    assert repo.record_cycles(run_id, records[3:]) == 2  # and the good batch goes through afterwards
    eng.dispose()


def test_record_cycles_refuses_unordered_batches(repo: RunRepository, run_id: str, cycles: Cycles) -> None:
    records = cycles(run_id, 3)
    with pytest.raises(ValueError, match="strictly increase"):
        repo.record_cycles(run_id, [records[1], records[0]])
    with pytest.raises(ValueError, match="strictly increase"):
        repo.record_cycles(run_id, [records[1], records[1]])


def test_record_cycles_for_an_unknown_run_is_an_error(repo: RunRepository, cycles: Cycles) -> None:
    with pytest.raises(RunNotFoundError):
        repo.record_cycles("missing", cycles("missing", 1))


def test_record_cycles_with_no_records_does_nothing(repo: RunRepository, run_id: str) -> None:
    assert repo.record_cycles(run_id, []) == 0
    row = repo.get_run(run_id)
    assert row is not None and row.last_cycle == -1


def test_positions_keep_their_exact_fifo_lots_and_realised_pnl(
    engine: Engine, repo: RunRepository, run_id: str, cycles: Cycles
) -> None:
    lots = (Lot(1, Decimal("100.0000001")), Lot(2, Decimal("100.5")), Lot(4, Decimal("99.99")))
    position = Position("AAPL", lots, Decimal("-12.3400000001"))
    flat = Position("MSFT", (), Decimal("7.5"))
    record = replace(cycles(run_id, 1)[0], positions=(position, flat))
    repo.record_cycles(run_id, [record])
    assert repo.load_positions(run_id) == [position, flat]
    assert repo.load_positions(run_id)[0].avg_price == position.avg_price  # not a round number
    with engine.connect() as conn:
        qty, avg = conn.execute(select(PositionModel.qty, PositionModel.avg_price)).first() or (None, None)
    assert qty == 7 and avg == position.avg_price
