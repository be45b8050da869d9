"""The guard's fused bar assessment equals the reference functions of risk/drawdown.py to the bit.

`DrawdownGuard._assess` computes the gap, the plan, the exit levels and the hits with each mask once; the
reference here composes `gap_loss`, `guard_plan`, `guard_levels` and `crossed` as the guard did before.
Synthetic books (this test says so: random opens, ranges, last closes, holdings, pending orders and peaks,
with NaN bars) and real SPY/AAPL bars from the shared data must give the same floats and masks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.config.settings import RiskSettings
from papertrader.engine.guard import DrawdownGuard
from papertrader.risk.drawdown import budget_limit, crossed, floor_equity, gap_loss, guard_levels, guard_plan
from support import load_shared_daily

SYMBOLS = ("A", "B", "C", "D", "E", "F")


def _reference(guard: DrawdownGuard, open_, low, high, peak, cash, held, pending, last_close):  # type: ignore[no-untyped-def]
    """The assessment as composed from the drawdown functions (the guard's code before fusing)."""
    s = guard.settings
    book = held + pending
    if peak <= 0 or not (book.any() or held.any()):
        return None
    loss, carried = gap_loss(held, last_close, open_)
    gap = carried > 0 and loss > s.gap_allowance * carried * (1 + 1e-9)
    reference = np.where(np.isfinite(open_), open_, last_close)
    marked = np.where(np.isfinite(reference), reference, 0.0)
    equity = cash + float((held * marked).sum())
    exposure = float(np.abs(book * marked).sum())
    floor = floor_equity(peak, budget_limit(s.max_drawdown, s.budget_margin))
    plan = guard_plan(equity, exposure, floor, s.gap_allowance, guard.exit_cost)
    levels = guard_levels(reference, book, plan.move)
    hit = crossed(levels, book, low, high) | (plan.keep < 1.0) & (book != 0)
    return loss, carried, bool(gap), plan, levels, hit


def _same(guard: DrawdownGuard, *args) -> None:  # type: ignore[no-untyped-def]
    fused = guard._assess(*args)
    expected = _reference(guard, *args)
    if expected is None:
        assert fused is None
        return
    assert fused is not None
    loss, carried, gap, plan, levels, hit = expected
    assert (fused.loss, fused.carried, fused.gap, fused.plan) == (loss, carried, gap, plan) or (
        math.isnan(fused.loss) and math.isnan(loss)
    )
    assert np.array_equal(fused.levels, levels, equal_nan=True)
    assert fused.hit is not None and fused.hit.tolist() == hit.tolist()
    lean = guard._assess(*args, hits=False)  # what `before` asks when no protective stop is working
    assert lean is not None and (lean.plan, lean.gap) == (fused.plan, fused.gap)
    assert np.array_equal(lean.levels, levels, equal_nan=True)


price = st.one_of(st.floats(1.0, 500.0), st.just(math.nan))


@settings(max_examples=400, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            price,
            st.floats(0.0, 0.2),
            st.floats(0.0, 0.2),
            price,
            st.integers(-500, 500).map(float),
            st.sampled_from([0.0, 0.0, 100.0, -100.0]),
        ),
        min_size=1,
        max_size=4,
    ),
    peak=st.floats(-1.0, 400_000.0),
    cash=st.floats(-50_000.0, 200_000.0),
    max_drawdown=st.sampled_from([0.02, 0.08, 0.3]),
    gap_allowance=st.sampled_from([0.001, 0.02, 0.1]),
)
def test_fused_and_one_symbol_assessments_equal_the_drawdown_functions_on_synthetic_books(
    rows: list[tuple[float, float, float, float, float, float]],
    peak: float,
    cash: float,
    max_drawdown: float,
    gap_allowance: float,
) -> None:
    risk = RiskSettings(max_drawdown=max_drawdown, gap_allowance=gap_allowance, budget_margin=0.01)
    guard = DrawdownGuard("r", SYMBOLS[: len(rows)], risk)
    open_, down, up, last, held, pending = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    low, high = open_ * (1 - down), open_ * (1 + up)
    _same(guard, open_, low, high, peak, cash, held, pending, last)
    # the same first symbol alone takes the one-symbol float path
    alone = DrawdownGuard("r", SYMBOLS[:1], risk)
    _same(alone, open_[:1], low[:1], high[:1], peak, cash, held[:1], pending[:1], last[:1])


@pytest.mark.parametrize("width", [2, 1])
def test_fused_assessment_equals_the_drawdown_functions_on_real_bars(width: int) -> None:
    spy, aapl = load_shared_daily("SPY").iloc[-400:], load_shared_daily("AAPL").iloc[-400:]
    guard = DrawdownGuard("r", ("SPY", "AAPL"), RiskSettings(max_drawdown=0.05))
    col = {
        c: np.column_stack([spy[c].to_numpy(float), aapl[c].to_numpy(float)]) for c in ("open", "high", "low", "close")
    }
    if width == 1:  # SPY alone: the one-symbol float path
        guard = DrawdownGuard("r", ("SPY",), RiskSettings(max_drawdown=0.05))
        col = {c: v[:, :1] for c, v in col.items()}
    held = np.array([120.0, -80.0])[:width]
    pending = np.array([0.0, 10.0])[:width]
    hits = 0
    for k in range(1, len(spy)):
        peak = 100_000.0 * (1 + 0.001 * (k % 7))
        cash = 100_000.0 - float((held * col["close"][k - 1]).sum()) * (0.97 + 0.01 * (k % 5))
        args = (col["open"][k], col["low"][k], col["high"][k], peak, cash, held, pending, col["close"][k - 1])
        _same(guard, *args)
        a = guard._assess(*args)
        hits += bool(a is not None and a.hit is not None and a.hit.any())
    assert hits > 0  # some bars reach a level, so the hit masks are compared where they matter
