"""Ray is the [scale] extra: asking for --ray without it says which extra to install."""

from __future__ import annotations

import sys

import pytest

from papertrader.core.errors import ConfigError
from papertrader.models.scaleout import init_ray, iterator, mapper, ray_available


def test_ray_missing_names_the_scale_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    assert not ray_available()
    with pytest.raises(ConfigError, match=r"pip install 'papertrader\[scale\]'"):
        init_ray()
    with pytest.raises(ConfigError, match=r"\[scale\]"):
        mapper(use_ray=True)(lambda shared, params, item: item, None, None, [1])


def test_the_local_mapper_needs_no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    assert mapper()(lambda shared, params, item: item * 2, None, None, [1, 2]) == [2, 4]


def test_the_local_iterator_hands_results_back_in_item_order_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    seen: list[int] = []

    def record(shared: int, params: None, item: int) -> int:
        seen.append(item)
        return shared * item

    results = iterator()(record, 10, None, [1, 2, 3])
    assert next(results) == 10 and seen == [1]  # lazily: the caller stores each result before the next runs
    assert list(results) == [20, 30]
