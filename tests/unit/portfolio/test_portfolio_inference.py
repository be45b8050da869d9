"""Sharpe intervals, the paired Sharpe test and the vol-matched reference (portfolio/inference.py).

Synthetic returns only (a unit test of pure statistics): seeded normal draws, and a two-point sample whose
Mertens standard error has an exact closed form.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import kurtosis, skew

from papertrader.portfolio.inference import sharpe_difference, sharpe_interval, vol_matched
from papertrader.portfolio.metrics import returns, sharpe

Q = 252.0


def _normal(n: int, mean: float, sd: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, sd, n)


def test_the_point_estimate_is_the_metrics_sharpe() -> None:
    rets = _normal(500, 0.0005, 0.01, 1)
    assert sharpe_interval(rets, Q).sharpe == pytest.approx(sharpe(rets, Q), rel=1e-12)


def test_a_symmetric_two_point_sample_has_the_closed_form_se_sqrt_q_over_t() -> None:
    # values m+s and m-s equally often: skew 0, raw kurtosis 1, so Mertens' variance is (1 + SR^2/2 - SR^2/2)/T
    t = 400
    rets = np.where(np.arange(t) % 2 == 0, 0.001 + 0.01, 0.001 - 0.01)
    got = sharpe_interval(rets, Q)
    assert got.se == pytest.approx(math.sqrt(Q / t), rel=1e-9)
    z = 1.959963984540054
    assert (got.low, got.high) == pytest.approx((got.sharpe - z * got.se, got.sharpe + z * got.se))


def test_the_se_matches_the_mertens_formula_computed_by_hand() -> None:
    rets = np.random.default_rng(3).standard_t(5, 750) * 0.01 + 0.0004
    got = sharpe_interval(rets, Q)
    sr = rets.mean() / rets.std(ddof=1)
    g3, g4 = skew(rets), kurtosis(rets, fisher=False)
    by_hand = math.sqrt((1 + sr**2 / 2 - g3 * sr + (g4 - 3) / 4 * sr**2) / rets.size) * math.sqrt(Q)
    assert got.se == pytest.approx(by_hand, rel=1e-9)
    # for normal returns it reduces to Lo (2002)'s i.i.d. formula sqrt((1 + SR^2/2) / T)
    normal = _normal(20_000, 0.0005, 0.01, 4)
    sr_n = normal.mean() / normal.std(ddof=1)
    lo = math.sqrt((1 + sr_n**2 / 2) / normal.size) * math.sqrt(Q)
    assert sharpe_interval(normal, Q).se == pytest.approx(lo, rel=0.02)


def test_the_95_percent_interval_covers_the_true_sharpe_about_95_percent_of_the_time() -> None:
    true_sr = 0.05 / 1.0 * math.sqrt(Q)  # per-period mean 0.05 sd, annualised
    covered = 0
    trials = 400
    for seed in range(trials):
        ci = sharpe_interval(_normal(250, 0.05, 1.0, 100 + seed), Q)
        covered += ci.low <= true_sr <= ci.high
    assert 0.92 <= covered / trials <= 0.98


def test_a_curve_in_cash_has_sharpe_zero_and_no_interval() -> None:
    got = sharpe_interval(np.zeros(100), Q)
    assert got.sharpe == 0.0 and math.isnan(got.low) and math.isnan(got.high)
    assert got.to_json()["low"] is None


def test_the_paired_difference_of_a_curve_with_itself_is_zero_with_p_one() -> None:
    rets = _normal(500, 0.0005, 0.01, 5)
    got = sharpe_difference(rets, rets, Q, reps=300)
    assert got.difference == 0.0 and got.p_value == 1.0 and got.low == 0.0 and got.high == 0.0


def test_a_clearly_better_curve_is_significant_and_the_test_is_antisymmetric_and_seeded() -> None:
    base = _normal(1000, 0.0, 0.01, 6)
    better = base * 0.5 + _normal(1000, 0.002, 0.003, 7)  # correlated with base, much higher Sharpe
    got = sharpe_difference(better, base, Q, reps=500)
    assert got.difference > 0 and got.low > 0 and got.p_value < 0.01
    assert got == sharpe_difference(better, base, Q, reps=500)  # seeded
    swapped = sharpe_difference(base, better, Q, reps=500)
    assert swapped.difference == pytest.approx(-got.difference)
    assert got.block_size >= 1 and got.n == 1000


def test_noise_alone_is_not_significant() -> None:
    a, b = _normal(500, 0.0003, 0.01, 8), _normal(500, 0.0003, 0.01, 9)
    got = sharpe_difference(a, b, Q, reps=500)
    assert got.low < got.difference < got.high and got.p_value > 0.05


def test_paired_returns_must_share_their_dates() -> None:
    with pytest.raises(ValueError, match="same dates"):
        sharpe_difference(np.zeros(10), np.zeros(11), Q)


def test_vol_matched_buy_and_hold_has_the_targets_volatility_and_the_same_sharpe() -> None:
    bh = 100_000 * np.cumprod(np.concatenate([[1.0], 1 + _normal(499, 0.0004, 0.012, 10)]))
    target = _normal(499, 0.0002, 0.004, 11)
    got = vol_matched(bh, target)
    assert not got.capped and got.fraction == pytest.approx(target.std(ddof=1) / returns(bh).std(ddof=1))
    assert returns(got.equity).std(ddof=1) == pytest.approx(target.std(ddof=1), rel=1e-9)
    assert sharpe(returns(got.equity), Q) == pytest.approx(sharpe(returns(bh), Q), rel=1e-9)
    assert got.equity[0] == bh[0] and got.equity.size == bh.size


def test_vol_matching_never_levers_up_and_a_flat_target_is_cash() -> None:
    bh = 100.0 * np.cumprod(np.concatenate([[1.0], 1 + _normal(99, 0.0, 0.005, 12)]))
    wild = _normal(99, 0.0, 0.05, 13)
    capped = vol_matched(bh, wild)
    assert capped.capped and capped.fraction == 1.0 and np.allclose(capped.equity, bh)
    flat = vol_matched(bh, np.zeros(99))
    assert flat.fraction == 0.0 and np.all(flat.equity == bh[0])
