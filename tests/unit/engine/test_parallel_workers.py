"""Which runs go to Ray: none without --workers (or with one worker), all with two or more or a Ray address; and
asking for Ray without the [scale] extra says which extra to install."""

from __future__ import annotations

import sys

import pytest

from papertrader.core.errors import ConfigError
from papertrader.engine.parallel import Workers, private_repository, worker_repository


def _square(shared: int, params: int, item: int) -> int:
    return shared + params * item * item


def test_without_workers_or_with_one_runs_here_without_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # Ray absent: nothing may try to import it
    for workers in (Workers(), Workers(1)):
        assert not workers.parallel
        assert list(workers.iterate(_square, 1, 2, [1, 2, 3])) == [3, 9, 19]
        assert workers.describe() == "in this process"
        workers.close()


def test_two_workers_or_an_address_go_to_ray() -> None:
    assert Workers(2).parallel and Workers(2).describe() == "on a local Ray of 2 workers"
    assert Workers(address="ray://head:10001").parallel
    assert Workers(address="auto").describe() == "on Ray at auto"


def test_fewer_than_one_worker_is_refused() -> None:
    with pytest.raises(ConfigError, match="--workers must be at least 1"):
        Workers(0)


def test_parallel_workers_without_ray_name_the_scale_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConfigError, match=r"pip install 'papertrader\[scale\]'"):
        Workers(2).iterate(_square, 0, 1, [1])


def test_each_private_store_is_its_own_empty_database() -> None:
    a, b = private_repository(), private_repository()
    assert a.list_runs() == [] and b.list_runs() == []
    assert a.engine is not b.engine


def test_a_worker_keeps_one_store_for_all_its_tasks() -> None:
    assert worker_repository() is worker_repository()
    assert worker_repository().engine is not private_repository().engine
