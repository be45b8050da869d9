"""No key is ever given more slots than its budget, with 8 threads and with two managers on one database."""

from __future__ import annotations

import threading
from pathlib import Path

from av_keyfixtures import FUND_SECRET, PREMIUM_SECRET, av_settings, db_engine, manager, sim_clock
from sqlalchemy import func, select

from papertrader.data.adapters.alphavantage.keys import (
    KeyBudgetExhaustedError,
    KeyManager,
    Lease,
    Purpose,
    Tier,
    key_reservations,
    make_key,
)

THREADS = 8


def _drain(managers: list[KeyManager], purpose: Purpose, attempts_per_thread: int) -> list[Lease]:
    """Every thread tries to reserve many slots at once (no waiting); return all slots granted."""
    granted: list[Lease] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        keys = managers[index % len(managers)]
        barrier.wait()
        try:
            for _ in range(attempts_per_thread):
                try:
                    lease = keys.acquire(purpose, max_wait_s=0)
                except KeyBudgetExhaustedError:
                    continue
                with lock:
                    granted.append(lease)
        except BaseException as exc:  # surfaced below: a thread must not fail silently
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return granted


def test_eight_threads_never_get_more_than_a_free_keys_daily_budget(tmp_path: Path) -> None:
    key = make_key(FUND_SECRET, Tier.FREE, Purpose.FUNDAMENTALS, av_settings(free_min_spacing_s=0), 25)
    engine = db_engine(tmp_path)
    keys = manager(engine, sim_clock(), [key])
    granted = _drain([keys], Purpose.FUNDAMENTALS, attempts_per_thread=6)
    assert len(granted) == 25
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(key_reservations)).scalar_one() == 25


def test_eight_threads_never_get_more_than_a_premium_keys_minute_budget(tmp_path: Path) -> None:
    key = make_key(PREMIUM_SECRET, Tier.PREMIUM, Purpose.MARKET, av_settings())
    keys = manager(db_engine(tmp_path), sim_clock(), [key])
    assert len(_drain([keys], Purpose.MARKET, attempts_per_thread=12)) == 75


def test_two_managers_on_one_database_share_the_budget_like_two_processes(tmp_path: Path) -> None:
    settings = av_settings(free_min_spacing_s=0)
    clock = sim_clock()
    first = manager(db_engine(tmp_path), clock, [make_key(FUND_SECRET, Tier.FREE, Purpose.ANY, settings, 25)])
    second = manager(db_engine(tmp_path), clock, [make_key(FUND_SECRET, Tier.FREE, Purpose.ANY, settings, 25)])
    assert len(_drain([first, second], Purpose.MACRO, attempts_per_thread=6)) == 25
