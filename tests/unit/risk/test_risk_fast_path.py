"""The one-symbol float path of RiskEngine.plan gives exactly what the array path gives.

A one-symbol universe is planned in plain floats (numpy's per-call cost dominates there). The array path
is reached with the same symbol plus a dead second one (no price, no target, nothing held): every sum
then adds only zeros, so the two must agree to the bit on intents and on every event.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.config.settings import RiskSettings
from papertrader.risk.buckets import classify
from papertrader.risk.engine import RiskEngine, RiskInputs, RiskPlan

T0 = datetime(2020, 1, 2, 21, tzinfo=UTC)
DAY = date(2020, 1, 2)

prices = st.one_of(st.floats(0.5, 2_000), st.just(math.nan), st.floats(1, 6))
weights = st.one_of(st.floats(-1, 1), st.sampled_from([0.0, 1.0, -1.0, 0.25]))
vols = st.one_of(st.none(), st.just(0.0), st.floats(1e-6, 3.0), st.just(math.nan))


def _plans(
    symbol: str,
    risk: RiskSettings,
    band: float,
    w: float,
    p: float,
    held: float,
    equity: float,
    vol: float | None,
    daily_drop: float,
    budget: float | None = None,
) -> tuple[RiskPlan, RiskPlan]:
    one = RiskEngine((symbol,), risk, band)
    two = RiskEngine((symbol, "ZZZZ"), risk, band)
    for engine in (one, two):
        engine.observe(T0, DAY, 100_000.0)
        engine.observe(T0, DAY, 100_000.0 * (1 - daily_drop))
    single = one.plan(
        T0,
        np.array([w]),
        np.array([p]),
        np.array([held]),
        equity,
        RiskInputs(volatility=None if vol is None else np.array([vol]), budget=budget),
    )
    pair = two.plan(
        T0,
        np.array([w, 0.0]),
        np.array([p, math.nan]),
        np.array([held, 0.0]),
        equity,
        RiskInputs(volatility=None if vol is None else np.array([vol, math.nan]), budget=budget),
    )
    return single, pair


@settings(max_examples=400, deadline=None)
@given(
    w=weights,
    p=prices,
    held=st.one_of(st.just(0.0), st.integers(-2_000, 20_000).map(float)),
    equity=st.floats(1_000, 5_000_000),
    vol=vols,
    band=st.sampled_from([0.0, 0.05, 0.2]),
    symbol=st.sampled_from(["SPY", "AAPL"]),
    allow_short=st.booleans(),
    vol_target=st.sampled_from([None, 0.35]),
    max_position=st.sampled_from([0.25, 0.9, 1.0]),
    sector=st.booleans(),
    daily_drop=st.sampled_from([0.0, 0.05]),
    flatten=st.booleans(),
    budget=st.one_of(st.none(), st.just(0.0), st.floats(-0.01, 0.1)),
)
def test_one_symbol_float_path_equals_array_path_on_intents_and_events(
    w: float,
    p: float,
    held: float,
    equity: float,
    vol: float | None,
    band: float,
    symbol: str,
    allow_short: bool,
    vol_target: float | None,
    max_position: float,
    sector: bool,
    daily_drop: float,
    flatten: bool,
    budget: float | None,
) -> None:
    risk = RiskSettings(
        allow_short=allow_short,
        vol_target=vol_target,
        max_position_fraction=max_position,
        sectors={symbol: "tech"} if sector else {},
        max_sector_fraction=0.3,
        flatten_on_daily_limit=flatten,
    )
    single, pair = _plans(symbol, risk, band, w, p, held, equity, vol, daily_drop, budget)
    assert single.intents == pair.intents
    assert single.events == pair.events


def test_float_path_trades_on_drift_caps_and_denials_like_the_array_path() -> None:
    # hand-picked cases that exercise each branch: entry, trim past a cap, exit, min notional, short denial
    risk = RiskSettings(max_position_fraction=0.25)
    cases = [
        (1.0, 100.0, 0.0, 100_000.0, 0.2),
        (0.25, 112.0, 250.0, 105_000.0, None),
        (0.0, 50.0, 300.0, 100_000.0, 0.5),
        (0.0005, 10.0, 0.0, 100_000.0, None),
        (-0.2, 100.0, 0.0, 100_000.0, None),
    ]
    kinds = set()
    for w, p, held, equity, vol in cases:
        single, pair = _plans("AAPL", risk, 0.05, w, p, held, equity, vol, 0.0)
        assert single.intents == pair.intents and single.events == pair.events
        kinds |= {e.kind for e in single.events} | ({"intent"} if single.intents else set())
    assert {"intent", "order.reduced", "order.denied"} <= kinds


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 20), st.just(math.nan), st.just(math.inf)), min_size=4, max_size=4))
def test_bucket_lookup_equals_classify(prices: list[float]) -> None:
    symbols = ("SPY", "AAPL", "PENNY", "QQQ")
    risk = RiskEngine(symbols, RiskSettings(), 0.05)
    p = np.array(prices)
    expected = classify(symbols, p, set(RiskSettings().etfs), RiskSettings().penny_below)
    assert risk._buckets(p).tolist() == expected.tolist()
