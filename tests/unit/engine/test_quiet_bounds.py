"""The quiet screen's bounds (engine/quiet.py) are conservative: whenever they call a stretch quiet, the exact pass
(`observe_span`, `guard_quiet_span`) finds nothing on any of its cycles, and its equity bounds are exact.

Synthetic one-symbol stretches (this test says so): random walks of closes on the cent grid with gaps, wicks, books
long and short, cash of either sign and loss limits and guard settings drawn near where they bind, so that the screen
passes some stretches and fails others; hypothesis searches for a stretch the screen passes and the exact pass stops.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.config.settings import RiskSettings
from papertrader.core.arrays import Array
from papertrader.engine.quiet import (
    RowBounds,
    cash_ticks,
    equity_bounds,
    fixed_marks,
    guard_quiet,
    guard_quiet_span,
    limits_quiet,
    observe_span,
)
from papertrader.risk.limits import DailyLossLimit, DrawdownKillSwitch


def _cents(x: Array) -> Array:
    return np.asarray(np.round(np.maximum(x, 0.01), 2), dtype=np.float64)


@st.composite
def stretches(draw: st.DrawFn) -> dict[str, object]:
    """A stretch of m bars after one earlier bar (row 0, the last close before the stretch), a book and limits."""
    m = draw(st.integers(1, 40))
    steps = draw(st.lists(st.floats(-0.02, 0.02), min_size=m + 1, max_size=m + 1))
    gaps = draw(st.lists(st.floats(-0.06, 0.06), min_size=m + 1, max_size=m + 1))
    wicks = draw(st.lists(st.floats(0.0, 0.03), min_size=m + 1, max_size=m + 1))
    start = draw(st.floats(2.0, 400.0))
    close = _cents(start * np.exp(np.cumsum(steps)))
    prev = np.concatenate([[close[0]], close[:-1]])
    open_ = _cents(prev * (1.0 + np.asarray(gaps)))
    wick = np.asarray(wicks)
    high = _cents(np.maximum(open_, close) * (1.0 + wick))
    low = _cents(np.minimum(open_, close) * (1.0 - wick))
    qty = draw(st.integers(-20_000, 20_000))
    cash = Decimal(draw(st.integers(-200_000_000, 600_000_000))).scaleb(-2)
    equity0 = float(cash) + qty * float(close[0])
    peak = max(0.0, equity0) * (1.0 + draw(st.floats(0.0, 0.1)))
    kill = DrawdownKillSwitch(draw(st.floats(0.005, 0.3)), peak, draw(st.sampled_from([None, -0.5])))
    first = date(2020, 1, 6)
    days = [
        first + timedelta(days=int(d)) for d in np.cumsum(draw(st.lists(st.integers(0, 1), min_size=m, max_size=m)))
    ]
    session = draw(st.sampled_from([first, first - timedelta(days=1), None]))
    start_equity = equity0 * (1.0 + draw(st.floats(-0.02, 0.05)))
    daily = DailyLossLimit(draw(st.floats(0.002, 0.05)), session, start_equity, equity0)
    risk = RiskSettings(
        max_drawdown=draw(st.floats(0.02, 1.0)),
        gap_allowance=draw(st.floats(0.005, 0.2)),
        budget_margin=draw(st.floats(0.0, 0.01)),
        exit_cost_bps=draw(st.floats(0.0, 40.0)),
    )
    return {
        "open": open_, "high": high, "low": low, "close": close, "qty": qty, "cash": cash,
        "kill": kill, "daily": daily, "days": days, "risk": risk,
    }  # fmt: skip


def _codes(days: list[date]) -> tuple[np.ndarray, list[date]]:
    unique = sorted(set(days))
    return np.array([unique.index(d) for d in days], dtype=np.int32), unique


@settings(max_examples=400, deadline=None)
@given(stretches())
def test_a_stretch_the_screen_calls_quiet_is_quiet_in_the_exact_pass(s: dict[str, object]) -> None:
    o, hi, lo, c = (np.asarray(s[f], dtype=np.float64) for f in ("open", "high", "low", "close"))
    qty, cash, risk = s["qty"], s["cash"], s["risk"]
    kill, daily, days = s["kill"], s["daily"], s["days"]
    assert isinstance(qty, int) and isinstance(cash, Decimal) and isinstance(risk, RiskSettings)
    assert isinstance(kill, DrawdownKillSwitch) and isinstance(daily, DailyLossLimit) and isinstance(days, list)
    m = len(c) - 1
    exit_cost = risk.exit_cost_bps / 1e4
    level = risk.gap_allowance + exit_cost
    rows = RowBounds(o, lo, hi, c, np.full(len(c), 0.2), 252.0, None, level)
    bounds = rows.bounds(1, m + 1)
    base = cash_ticks(cash)
    assert base is not None
    marks = fixed_marks(cash, np.array([qty], dtype=np.int64), c[1:, None])
    extremes = equity_bounds(qty, base, bounds)
    if extremes is None:
        return
    assert marks is not None
    equity = marks.equity
    assert extremes == (float(equity.min()), float(equity.max())), "the equity bounds are the series' extremes"
    assert rows.marks(cash, base, qty, 1, m + 1).equity.tolist() == equity.tolist()
    eq_lo, eq_hi = extremes
    peak_max = max(kill.peak, eq_hi)
    day, unique = _codes(days)
    span = observe_span(kill, daily, equity, day, unique)
    if limits_quiet(kill, daily, eq_lo, eq_hi, peak_max):
        assert span.quiet == m, "the screen passed a stretch on which a loss limit fires"
    peaks = np.maximum.accumulate(np.maximum(equity, kill.peak))
    peaks_before = np.concatenate([[kill.peak], peaks[:-1]])
    if guard_quiet(risk, exit_cost, qty, float(cash), peak_max, bounds):
        ok = guard_quiet_span(
            risk, exit_cost, o[1:, None], lo[1:, None], hi[1:, None], peaks_before, float(cash),
            np.array([float(qty)]), c[:-1, None],
        )  # fmt: skip
        assert ok is not None and ok.all(), "the screen passed a stretch in which the guard acts"


def test_the_screen_passes_a_calm_stretch_and_fails_one_that_crosses_the_guard_level() -> None:
    """Synthetic: a flat stretch is quiet for every rule; the same book with the floor just under the equity is not."""
    c = np.full(11, 100.0)
    o, hi, lo = c.copy(), c + 0.5, c - 0.5
    risk = RiskSettings(max_drawdown=0.1, gap_allowance=0.05, budget_margin=0.0, exit_cost_bps=10.0)
    rows = RowBounds(o, lo, hi, c, np.full(11, 0.2), 252.0, None, risk.gap_allowance + 0.001)
    bounds = rows.bounds(1, 11)
    cash = 50_000.0
    equity = cash + 1000 * 100.0
    assert guard_quiet(risk, 0.001, 1000, cash, equity, bounds)
    assert limits_quiet(DrawdownKillSwitch(0.1, equity), DailyLossLimit(0.02), equity, equity, equity)
    # a peak so far above that the floor sits at the equity: the guard would trim, so the screen must not pass
    assert not guard_quiet(risk, 0.001, 1000, cash, equity / 0.9, bounds)
    assert not limits_quiet(DrawdownKillSwitch(0.1, equity / 0.85), DailyLossLimit(0.02), equity, equity, equity / 0.85)
