"""The fused wide path of RiskEngine.plan gives exactly what the reference array path gives.

Synthetic books (this test says so: random prices, targets, holdings, volatilities, sectors, ETFs, penny
prices, budgets, Kelly odds and a hit daily limit) are planned twice: with the shortcuts on (the fused
`_terms_wide`) and off (`_terms`, the array path the rules were written in). Intents and every event must
agree to the bit; the real-bar runs in tests/unit/engine/test_fast_path_equivalence.py do the same on SPY.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.config.settings import RiskSettings
from papertrader.risk.engine import RiskEngine, RiskInputs, RiskPlan

T0 = datetime(2020, 1, 2, 21, tzinfo=UTC)
DAY = date(2020, 1, 2)
SYMBOLS = ("SPY", "AAPL", "MSFT", "QQQ", "PNY", "IBM", "BAC", "AIG")

price = st.one_of(st.floats(0.5, 2_000), st.just(math.nan), st.floats(1, 6), st.just(-math.inf), st.just(0.0))
weight = st.one_of(st.floats(-1, 1), st.sampled_from([0.0, 1.0, -1.0, 0.25, 0.125]))
held = st.one_of(st.just(0.0), st.integers(-2_000, 20_000).map(float))
vol = st.one_of(st.just(0.0), st.floats(1e-6, 3.0), st.just(math.nan))


def _both(
    risk: RiskSettings,
    band: float,
    daily_drop: float,
    target: np.ndarray,
    prices: np.ndarray,
    holdings: np.ndarray,
    equity: float,
    inputs: RiskInputs,
) -> tuple[RiskPlan, RiskPlan]:
    """The plan with the shortcuts on (fused wide path) and off (reference array path)."""
    plans = []
    for shortcuts in (True, False):
        engine = RiskEngine(SYMBOLS[: len(target)], risk, band)
        engine.shortcuts = shortcuts
        engine.observe(T0, DAY, 100_000.0)
        engine.observe(T0, DAY, 100_000.0 * (1 - daily_drop))
        plans.append(engine.plan(T0, target, prices, holdings, equity, inputs))
    return plans[0], plans[1]


def _same(a: RiskPlan, b: RiskPlan) -> None:
    assert a.intents == b.intents
    assert [repr(e) for e in a.events] == [repr(e) for e in b.events]


@settings(max_examples=500, deadline=None)
@given(
    book=st.lists(
        st.tuples(weight, price, held, vol, st.floats(0.05, 0.95), st.floats(0.5, 3.0)), min_size=2, max_size=8
    ),
    equity=st.floats(1_000, 5_000_000),
    band=st.sampled_from([0.0, 0.05, 0.2, 10.0]),
    allow_short=st.booleans(),
    vol_target=st.sampled_from([None, 0.35]),
    max_position=st.sampled_from([0.1, 0.25, 0.9, 1.0]),
    sectors=st.sampled_from(["none", "some", "all"]),
    daily_drop=st.sampled_from([0.0, 0.05]),
    flatten=st.booleans(),
    budget=st.one_of(st.none(), st.just(0.0), st.floats(-0.01, 0.1)),
    kelly=st.booleans(),
    volatility=st.booleans(),
    tolerance=st.sampled_from([0.0, 0.02, 1.0]),
    caps=st.sampled_from([(0.8, 0.6, 0.1), (1.0, 1.0, 1.0), (0.3, 0.2, 0.05)]),
)
def test_wide_fused_path_equals_reference_array_path_on_synthetic_books(
    book: list[tuple[float, float, float, float, float, float]],
    equity: float,
    band: float,
    allow_short: bool,
    vol_target: float | None,
    max_position: float,
    sectors: str,
    daily_drop: float,
    flatten: bool,
    budget: float | None,
    kelly: bool,
    volatility: bool,
    tolerance: float,
    caps: tuple[float, float, float],
) -> None:
    n = len(book)
    names = SYMBOLS[:n]
    sector_map = {}
    if sectors == "some":
        sector_map = {s: ("tech" if i % 3 else "banks") for i, s in enumerate(names) if i % 2 == 0}
    elif sectors == "all":
        sector_map = {s: "tech" for s in names}
    risk = RiskSettings(
        allow_short=allow_short,
        vol_target=vol_target,
        max_position_fraction=max_position,
        sectors=sector_map,
        max_sector_fraction=0.3,
        flatten_on_daily_limit=flatten,
        limit_tolerance=tolerance,
        core_cap=caps[0],
        etf_cap=caps[1],
        speculative_cap=caps[2],
    )
    w, p, h, v, pw, payoff = (np.array(col, dtype=float) for col in zip(*book, strict=True))
    inputs = RiskInputs(
        p_win=pw if kelly else None,
        payoff=payoff if kelly else None,
        volatility=v if volatility else None,
        budget=budget,
    )
    fast, slow = _both(risk, band, daily_drop, w, p, h, equity, inputs)
    _same(fast, slow)


def test_wide_path_trims_drift_past_a_cap_and_denies_shorts_like_the_array_path() -> None:
    # hand-picked: a position drifted past the per-symbol cap, a short target, an entry, a penny stock
    risk = RiskSettings(max_position_fraction=0.25, limit_tolerance=0.0)
    w = np.array([0.2, -0.2, 0.2, 0.1, 0.05])
    p = np.array([100.0, 50.0, 80.0, 300.0, 2.0])
    h = np.array([400.0, 0.0, 0.0, 10.0, 0.0])
    fast, slow = _both(risk, 0.05, 0.0, w, p, h, 100_000.0, RiskInputs(budget=0.05))
    _same(fast, slow)
    kinds = {e.kind for e in fast.events}
    assert "order.denied" in kinds and len(fast.intents) >= 2


def test_wide_path_trims_a_book_whose_drift_outgrew_the_drawdown_budget_like_the_array_path() -> None:
    # no cap binds and the band is wide: only the bad-bar loss of the held book (past the budget) trims it
    risk = RiskSettings(max_position_fraction=1.0, core_cap=1.0, limit_tolerance=0.0)
    w = np.array([0.5, 0.5])
    p = np.array([100.0, 100.0])
    h = np.array([400.0, 400.0])
    fast, slow = _both(risk, 10.0, 0.0, w, p, h, 100_000.0, RiskInputs(budget=0.01))
    _same(fast, slow)
    assert [i.symbol for i in fast.intents] == ["SPY", "AAPL"]


def test_bad_bar_of_a_whole_volatility_panel_equals_each_row_computed_alone() -> None:
    # the engine computes the budget's bad-bar factors for the run at once; each row must be the plan's own
    rng = np.random.default_rng(7)
    vol = rng.uniform(0.0, 2.0, (50, 5))
    vol[3, 1], vol[10, 4], vol[20, 0] = math.nan, -0.1, math.inf
    engine = RiskEngine(SYMBOLS[:5], RiskSettings(), 0.05, 252.0)
    panel = engine.bad_bar(vol)
    for k in range(len(vol)):
        assert panel[k].tobytes() == engine.bad_bar(vol[k]).tobytes()
    w, p, h = np.full(5, 0.2), np.full(5, 100.0), np.zeros(5)
    given_row = engine.plan(T0, w, p, h, 100_000.0, RiskInputs(volatility=vol[3], budget=0.01, bad_bar=panel[3]))
    computed = engine.plan(T0, w, p, h, 100_000.0, RiskInputs(volatility=vol[3], budget=0.01))
    _same(given_row, computed)
