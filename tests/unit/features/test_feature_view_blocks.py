"""FeatureView's block reads (`windows`, `rows`): the same numbers as the per-name reads, and never a row after k.

The panels are small synthetic arrays (this unit test says so): what is under test is indexing, not features.
"""

from __future__ import annotations

import numpy as np
import pytest

from papertrader.features.view import FeatureView


def _panels() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    out = {f"f{j}": rng.normal(size=(30, 4)) for j in range(3)}
    out["f1"][5:9, 2] = np.nan
    out["f2"][12, 0] = np.inf
    return out


def test_windows_stacks_every_names_window_exactly_including_the_short_start() -> None:
    panels = _panels()
    names = ("f2", "f0", "f1")
    for k in (0, 3, 17, 29):
        view = FeatureView(panels, k)
        for length in (1, 5, 40):
            expected = np.stack([view.window(n, length) for n in names])
            np.testing.assert_array_equal(view.windows(names, length), expected)


def test_rows_reads_only_the_rows_asked_for_back_from_the_current_cycle() -> None:
    panels = _panels()
    view = FeatureView(panels, 20)
    back = np.array([15, 9, 4, 0], dtype=np.intp)
    expected = np.stack([view.window(n, 16)[15 - back] for n in ("f0", "f1")])
    np.testing.assert_array_equal(view.rows(("f0", "f1"), back), expected)


def test_rows_refuses_a_row_after_the_cycle_or_before_the_first() -> None:
    view = FeatureView(_panels(), 10)
    with pytest.raises(ValueError, match="current cycle"):
        view.rows(("f0",), np.array([-1], dtype=np.intp))  # the next row: the future
    with pytest.raises(ValueError, match="current cycle"):
        view.rows(("f0",), np.array([11], dtype=np.intp))  # before row 0 (would wrap to the end)


def test_a_block_is_a_copy_the_caller_may_change() -> None:
    panels = _panels()
    view = FeatureView(panels, 10)
    block = view.windows(("f0",), 3)
    block[:] = 0.0
    assert panels["f0"][10, 0] != 0.0


def test_block_reads_on_a_bounded_panel_equal_the_whole_panel_and_refuse_dropped_rows() -> None:
    panels = _panels()
    base = 10  # a bounded live panel that dropped cycles 0-9: the same cycle numbers, rows shifted by the base
    kept = {name: values[base:] for name, values in panels.items()}
    names = ("f1", "f2")
    for k in (15, 22, 29):
        whole, bounded = FeatureView(panels, k), FeatureView(kept, k, base)
        np.testing.assert_array_equal(bounded.windows(names, k - base + 1), whole.windows(names, k - base + 1))
        back = np.array([k - base, 3, 0], dtype=np.intp)
        np.testing.assert_array_equal(bounded.rows(names, back), whole.rows(names, back))
        with pytest.raises(ValueError, match=r"live\.panel_rows"):
            bounded.windows(names, k - base + 2)
        with pytest.raises(ValueError, match=r"live\.panel_rows"):
            bounded.rows(names, np.array([k - base + 1], dtype=np.intp))
