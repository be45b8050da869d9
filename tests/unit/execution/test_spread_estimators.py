"""The high-low spread estimators equal the papers' formulas, recover a known spread, and never look ahead."""

from __future__ import annotations

import math

import numpy as np
import pytest

from papertrader.execution.market import TrailingWindow, market_inputs
from papertrader.execution.spreads import (
    abdi_ranaldo_spread,
    corwin_schultz_pairs,
    corwin_schultz_spread,
    estimate_spread,
)

H = [10.20, 10.30, 10.25, 10.40]
L = [10.00, 10.05, 10.10, 10.22]
C = [10.10, 10.20, 10.15, 10.38]


def test_abdi_ranaldo_equals_the_papers_formula() -> None:
    # Abdi & Ranaldo (2017), eq. (9): S^2 = 4 E[(c_t - eta_t)(c_t - eta_t+1)], eta = (ln H + ln L) / 2
    eta = [(math.log(h) + math.log(lo)) / 2 for h, lo in zip(H, L, strict=True)]
    c = [math.log(x) for x in C]
    terms = [4 * (c[t] - eta[t]) * (c[t] - eta[t + 1]) for t in range(len(C) - 1)]
    expected = math.sqrt(max(sum(terms) / len(terms), 0.0))
    assert abdi_ranaldo_spread(H, L, C)[0] == pytest.approx(expected, rel=1e-12)


def test_corwin_schultz_equals_the_papers_formula_with_the_overnight_adjustment() -> None:
    # Corwin & Schultz (2012), eqs. (14), (18)-(20); bar 3 opens above close 2: shift its range down
    k = 3 - 2 * math.sqrt(2)
    expected = []
    for t in range(len(C) - 1):
        h1, l1 = H[t + 1], L[t + 1]
        if l1 > C[t]:
            h1, l1 = h1 - (l1 - C[t]), C[t]
        elif h1 < C[t]:
            h1, l1 = C[t], l1 + (C[t] - h1)
        beta = math.log(H[t] / L[t]) ** 2 + math.log(h1 / l1) ** 2
        gamma = math.log(max(H[t], h1) / min(L[t], l1)) ** 2
        alpha = (math.sqrt(2 * beta) - math.sqrt(beta)) / k - math.sqrt(gamma / k)
        expected.append(2 * (math.exp(alpha) - 1) / (1 + math.exp(alpha)))
    np.testing.assert_allclose(corwin_schultz_pairs(H, L, C)[:, 0], expected, rtol=1e-9)
    assert corwin_schultz_spread(H, L, C)[0] == pytest.approx(np.mean(np.maximum(expected, 0)), rel=1e-9)


@pytest.mark.parametrize("bid,ask", [(99.99, 100.01), (13.98, 13.99), (50.0, 50.25)])
def test_both_estimators_recover_a_constant_spread_when_the_price_only_bounces(bid: float, ask: float) -> None:
    # no volatility: every bar trades at both bid and ask and closes alternately on each side
    n = 40
    high, low = np.full(n, ask), np.full(n, bid)
    close = np.where(np.arange(n) % 3 == 0, ask, bid)
    assert corwin_schultz_spread(high, low, close)[0] == pytest.approx(2 * (ask - bid) / (ask + bid), rel=1e-9)
    assert abdi_ranaldo_spread(high, low, close)[0] == pytest.approx(math.log(ask / bid), rel=1e-9)


def test_estimators_work_column_wise_and_skip_missing_bars() -> None:
    h = np.array([H, H]).T.copy()
    lo = np.array([L, L]).T.copy()
    c = np.array([C, C]).T.copy()
    h[1, 1] = lo[1, 1] = c[1, 1] = np.nan
    out = abdi_ranaldo_spread(h, lo, c)
    assert out[0] == pytest.approx(abdi_ranaldo_spread(H, L, C)[0])
    assert np.isfinite(out[1])
    assert np.isnan(abdi_ranaldo_spread([1.0], [1.0], [1.0])[0])


def test_estimated_spread_is_never_below_one_tick() -> None:
    flat = np.full(10, 200.0)
    assert estimate_spread(flat, flat, flat, min_tick=0.01)[0] == pytest.approx(0.01 / 200.0)
    assert estimate_spread(flat, flat, flat, min_tick=0.0)[0] == 0.0


def test_market_inputs_use_only_bars_before_the_one_being_filled() -> None:
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (60, 3)), axis=0))
    high, low = close * 1.004, close * 0.996
    volume = rng.uniform(1e5, 2e5, (60, 3))
    base = market_inputs(high, low, close, volume, upto=40, window=20)
    for a in (high, low, close, volume):
        a[40:] *= 3.0  # rewrite the future
    again = market_inputs(high, low, close, volume, upto=40, window=20)
    for x, y in ((base.sigma, again.sigma), (base.adv, again.adv), (base.spread_bps, again.spread_bps)):
        np.testing.assert_array_equal(x, y)
    expected_sigma = np.std(np.diff(np.log(close[20:40]), axis=0), axis=0, ddof=1)
    np.testing.assert_allclose(base.sigma, expected_sigma)
    np.testing.assert_allclose(base.adv, volume[20:40].mean(axis=0))


def test_trailing_window_matches_market_inputs_on_the_same_bars() -> None:
    rng = np.random.default_rng(5)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, (30, 2)), axis=0))
    high, low, volume = close * 1.003, close * 0.997, rng.uniform(1e4, 2e4, (30, 2))
    window = TrailingWindow(10)
    assert window.inputs("abdi_ranaldo", 0.01) is None
    for k in range(30):
        window.observe(high[k], low[k], close[k], volume[k])
    got = window.inputs("abdi_ranaldo", 0.01)
    want = market_inputs(high, low, close, volume, upto=30, window=10)
    assert got is not None and want.spread_bps is not None and got.spread_bps is not None
    np.testing.assert_allclose(got.sigma, want.sigma)
    np.testing.assert_allclose(got.spread_bps, want.spread_bps)
