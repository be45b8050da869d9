"""The members' input shortcuts change no number: the one-pass window tensor, the bit-for-bit prefix check and
the agent's book moved for every symbol at once.

Synthetic panels and actions (this unit test says so), with the awkward values spelled out: NaN, both
infinities, negative zero and a float64 beyond float32's range.
"""

from __future__ import annotations

import itertools

import numpy as np

from papertrader.features.view import FeatureView
from papertrader.models.rl.env import next_units
from papertrader.signals.members import _inputs, _same_bits, units_after


def _panels() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    out = {f"lstm:f{j}": rng.normal(size=(60, 7)) for j in range(5)}
    out["lstm:f0"][50:55, 1] = np.nan
    out["lstm:f1"][52, 3] = np.inf
    out["lstm:f2"][58, 0] = -np.inf
    out["lstm:f3"][57, 6] = -0.0
    out["lstm:f4"][59, 2] = 1e300  # finite in float64, infinite once cast to float32 (either way)
    return out


def _reference(view: FeatureView, names: tuple[str, ...], length: int) -> np.ndarray:
    """The window tensor as the members built it before: stack, transpose, nan_to_num, float32."""
    block = np.stack([view.window(name, length) for name in names], axis=-1)
    x = np.transpose(block, (1, 0, 2))
    return np.ascontiguousarray(np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0), dtype=np.float32)


def test_the_one_pass_window_tensor_equals_the_stacked_nan_to_num_one_bit_for_bit() -> None:
    panels = _panels()
    names = tuple(panels)
    for k in (3, 45, 59):
        view = FeatureView(panels, k)
        for length in (1, 10, 40):
            with np.errstate(over="ignore"):  # 1e300 overflows float32 in both
                ours, theirs = _inputs(view.windows(names, length)), _reference(view, names, length)
            assert ours.dtype == theirs.dtype and ours.flags.c_contiguous
            assert ours.tobytes() == theirs.tobytes(), f"k={k} length={length}"


def test_same_bits_holds_for_equal_rows_with_nan_and_fails_on_any_changed_number() -> None:
    panels = _panels()
    a = FeatureView(panels, 55).windows(tuple(panels), 10)
    assert _same_bits(a, a.copy()), "NaN where NaN counts as the same input"
    one_ulp = a.copy()
    one_ulp[2, 4, 5] = np.nextafter(a[2, 4, 5], np.inf)
    now_nan = a.copy()
    now_nan[0, 9, 0] = np.nan
    assert not _same_bits(a, one_ulp) and not _same_bits(a, now_nan)
    zero, negative_zero = a.copy(), a.copy()
    zero[1, 1, 1], negative_zero[1, 1, 1] = 0.0, -0.0
    assert not _same_bits(zero, negative_zero), "bits, not values: the full window then answers (the same numbers)"
    assert not _same_bits(a, a[:, 1:]), "a different shape is a different window"


def test_the_agents_book_moves_as_next_units_says_for_every_action_and_position() -> None:
    pairs = list(itertools.product(range(5), range(-3, 4)))
    actions = np.array([a for a, _ in pairs], dtype=np.int64)
    units = np.array([u for _, u in pairs], dtype=np.int64)
    for max_units in (1, 3):
        expected = np.array([next_units(a, u, max_units, False) for a, u in pairs], dtype=np.int64)
        got = units_after(actions, units, max_units)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, expected)
