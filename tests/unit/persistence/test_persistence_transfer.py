"""A run's stored rows copied from a private in-memory store into a file store come out unchanged (parallel tasks
write this way), a run already stored is refused rather than merged, and a run taken out of a worker's store leaves
nothing of itself behind there."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from papertrader.persistence import CycleRecord, RunInfo, RunRepository, init_db, make_engine
from papertrader.persistence.repository import RunExistsError
from papertrader.persistence.transfer import export_run, import_run, take_run


def _private(run_info: RunInfo, records: list[CycleRecord]) -> RunRepository:
    repo = RunRepository(memory := make_engine("sqlite://"))
    init_db(memory)
    repo.create_run(run_info)
    repo.record_cycles(run_info.id, records)
    repo.finish_run(run_info.id, "finished", {"total_return": 0.01, "note": "done"})
    return repo


def test_a_run_copied_from_a_private_store_reads_back_the_same(
    engine: Engine, run_info: RunInfo, cycles: Callable[[str, int], list[CycleRecord]]
) -> None:
    private = _private(run_info, cycles(run_info.id, 6))
    stored = pickle.loads(pickle.dumps(export_run(private.engine, run_info.id)))  # crosses a process boundary
    import_run(engine, stored)
    target = RunRepository(engine)
    assert export_run(engine, run_info.id) == stored
    assert target.get_run(run_info.id) == private.get_run(run_info.id)
    assert target.load_fills(run_info.id) == private.load_fills(run_info.id)
    assert target.load_orders(run_info.id) == private.load_orders(run_info.id)
    assert target.load_events(run_info.id) == private.load_events(run_info.id)
    assert target.load_equity(run_info.id, exact=True).equals(private.load_equity(run_info.id, exact=True))
    assert isinstance(target.load_equity(run_info.id, exact=True)["equity"].iloc[-1], Decimal)  # exact money
    assert {name for name, rows in stored.tables if rows} == {
        "runs",
        "orders",
        "fills",
        "positions",
        "equity",
        "events",
    }


def test_only_the_named_run_is_copied(
    engine: Engine, run_info: RunInfo, cycles: Callable[[str, int], list[CycleRecord]]
) -> None:
    private = _private(run_info, cycles(run_info.id, 3))
    other = replace(run_info, id="other-run")
    private.create_run(other)
    private.record_cycles(other.id, cycles(other.id, 2))
    import_run(engine, export_run(private.engine, run_info.id))
    assert RunRepository(engine).get_run("other-run") is None
    assert {r["run_id"] for r in export_run(engine, run_info.id).rows("equity")} == {run_info.id}


def test_copying_a_run_already_stored_is_refused_and_changes_nothing(
    engine: Engine, run_info: RunInfo, cycles: Callable[[str, int], list[CycleRecord]]
) -> None:
    stored = export_run(_private(run_info, cycles(run_info.id, 4)).engine, run_info.id)
    import_run(engine, stored)
    with pytest.raises(RunExistsError, match="already stored"):
        import_run(engine, stored)
    assert export_run(engine, run_info.id) == stored


def test_a_taken_run_leaves_the_store_with_every_row_it_had_and_nothing_of_it_behind(
    engine: Engine, run_info: RunInfo, cycles: Callable[[str, int], list[CycleRecord]]
) -> None:
    private = _private(run_info, cycles(run_info.id, 5))
    other = replace(run_info, id="other-run")
    private.create_run(other)
    private.record_cycles(other.id, cycles(other.id, 2))
    before_other = export_run(private.engine, other.id)
    whole = export_run(private.engine, run_info.id)
    taken = take_run(private.engine, run_info.id)
    assert taken == whole
    assert all(not rows for _, rows in export_run(private.engine, run_info.id).tables)
    assert private.get_run(run_info.id) is None
    assert export_run(private.engine, other.id) == before_other, "another run's rows stay"
    import_run(engine, taken)
    assert export_run(engine, run_info.id) == whole
    private.create_run(run_info)  # the id is free again in the worker's store
