"""The trend strategy's one-symbol float path decides exactly what its array path decides, bit for bit."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from papertrader.signals.trend import TrendFollowing

VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 100.0, 100.00000001, math.nan, math.inf]),
)


def _bits(x: float) -> bytes:
    return np.float64(x).tobytes()


@given(VALUES, VALUES)
def test_one_symbol_decision_equals_the_array_decision(fast: float, slow: float) -> None:
    strategy = TrendFollowing(1, fast=20, slow=50)
    f, s = np.array([fast]), np.array([slow])
    with np.errstate(all="ignore"):  # x / 0 warns on both paths, as it always did
        want = strategy._decide_many(f, s)
        got = strategy._decide_one(f, s)
    assert _bits(got.weights[0]) == _bits(want.weights[0])
    assert _bits(got.confidence[0]) == _bits(want.confidence[0]) or (
        math.isnan(got.confidence[0]) and math.isnan(want.confidence[0])
    )
    assert got.explain(0) == want.explain(0)
