"""Walk-forward folds: no training or validation sample's information reaches its test window or embargo."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.core.errors import ConfigError
from papertrader.models.validation import WalkForwardConfig, make_folds, purge


@st.composite
def layouts(draw: st.DrawFn) -> tuple[int, WalkForwardConfig, int]:
    horizon = draw(st.integers(1, 20))
    config = WalkForwardConfig(
        n_folds=draw(st.integers(1, 5)),
        test_rows=draw(st.integers(1, 60)),
        val_rows=draw(st.integers(1, 40)),
        train_rows=draw(st.integers(1, 80)),
        horizon=horizon,
        embargo=draw(st.one_of(st.none(), st.integers(0, 25))),
        scheme=draw(st.sampled_from(["rolling", "expanding"])),
    )
    first = draw(st.integers(0, 30))
    n_rows = draw(st.integers(50, 1200))
    return n_rows, config, first


@settings(max_examples=300, deadline=None)
@given(layouts())
def test_no_training_label_window_reaches_validation_test_or_embargo(
    layout: tuple[int, WalkForwardConfig, int],
) -> None:
    n_rows, config, first = layout
    try:
        folds = make_folds(n_rows, config, first)
    except ConfigError:
        return  # too little data for the layout: refused, never silently shrunk
    h = config.horizon
    for fold in folds:
        train, val, test = fold.rows("train"), fold.rows("val"), fold.rows("test")
        embargo_lo, embargo_hi = fold.embargo_window
        test_span = (test.min(), test.max() + h)  # decision rows plus what their labels look at
        assert embargo_hi - embargo_lo >= h  # the embargo is at least as long as the label horizon
        for rows in (train, val):
            info_hi = rows + h  # the last row each sample's label reads
            assert not np.any((info_hi >= test_span[0]) & (rows <= test_span[1]))
            assert not np.any((rows >= embargo_lo) & (rows < embargo_hi))
            assert not np.intersect1d(rows, test).size
        if val.size:
            assert not np.any((train + h >= val.min()) & (train <= val.max() + h))
        assert train.min(initial=first) >= first
        assert test.max() + h < n_rows  # every test label is known


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30), st.integers(0, 30), st.integers(0, 400), st.integers(1, 200))
def test_purge_drops_exactly_the_rows_whose_labels_overlap(horizon: int, embargo: int, a: int, length: int) -> None:
    rows = np.arange(0, 800, dtype=np.int64)
    later = (a, a + length)
    embargoed = (a + length, a + length + embargo)
    kept = purge(rows, horizon, [later], [embargoed])
    overlaps = (rows + horizon >= later[0]) & (rows <= later[1] - 1 + horizon)
    in_embargo = (rows >= embargoed[0]) & (rows < embargoed[1])
    np.testing.assert_array_equal(kept, rows[~overlaps & ~in_embargo])


def test_expanding_folds_grow_and_rolling_folds_slide() -> None:
    expanding = make_folds(2000, WalkForwardConfig(n_folds=3, test_rows=100, val_rows=50, train_rows=500))
    assert [f.train[0] for f in expanding] == [0, 0, 0]
    assert expanding[0].train[1] < expanding[1].train[1] < expanding[2].train[1]
    rolling = make_folds(
        2000, WalkForwardConfig(n_folds=3, test_rows=100, val_rows=50, train_rows=500, scheme="rolling")
    )
    assert all(f.train[1] - f.train[0] == 500 for f in rolling)
    assert [f.test for f in rolling] == [f.test for f in expanding]


def test_too_short_data_is_refused_with_what_to_change() -> None:
    with pytest.raises(ConfigError, match="fewer folds"):
        make_folds(300, WalkForwardConfig(n_folds=4, test_rows=100, val_rows=50, train_rows=200))
