"""The shared two-pass std: exact where the one-pass E[x^2] - E[x]^2 form the sizing used to have is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from papertrader.data.adapters.bundled import BundledSource
from papertrader.features import volatility
from papertrader.features.volatility import rolling_std, std_along
from papertrader.risk.sizing import trailing_volatility


def _one_pass_rolling_std(x: np.ndarray, window: int) -> np.ndarray:
    """The formula risk/sizing.py used before: running sums of x and x^2 over the whole series."""
    csum = np.concatenate([[0.0], np.cumsum(x)])
    csq = np.concatenate([[0.0], np.cumsum(x**2)])
    total = csum[window:] - csum[:-window]
    total_sq = csq[window:] - csq[:-window]
    return np.sqrt(np.maximum((total_sq - total**2 / window) / (window - 1), 0.0))


def _numpy_two_pass(x: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    return np.asarray(sliding_window_view(x, window).std(axis=-1, ddof=ddof))


def test_one_pass_formula_loses_the_variance_of_a_long_series_with_a_large_mean_and_two_pass_does_not() -> None:
    # synthetic on purpose: 200,000 values of std 1 around a mean of 10,000 (a price level, not a return)
    rng = np.random.default_rng(7)
    x = 10_000.0 + rng.standard_normal(200_000)
    reference = _numpy_two_pass(x, 20)
    old_err = np.max(np.abs(_one_pass_rolling_std(x, 20) / reference - 1.0))
    new_err = np.max(np.abs(rolling_std(x, 20)[19:] / reference - 1.0))
    assert old_err > 1e-3  # the running sums reach 2e13: whole digits of the variance are lost
    assert new_err < 1e-12
    assert np.isnan(rolling_std(x, 20)[:19]).all()


def test_std_along_matches_numpy_on_both_axes_and_gives_rms_without_demeaning() -> None:
    rng = np.random.default_rng(3)
    block = 5.0 + rng.standard_normal((40, 6))
    np.testing.assert_allclose(std_along(block, axis=0, ddof=1), block.std(axis=0, ddof=1), rtol=1e-13)
    np.testing.assert_allclose(std_along(block, axis=1, ddof=0), block.std(axis=1), rtol=1e-13)
    rms = np.sqrt(np.mean(block**2, axis=0))
    np.testing.assert_allclose(std_along(block, axis=0, ddof=0, demean=False), rms, rtol=1e-14)


def test_trailing_volatility_of_real_bars_agrees_with_numpy_and_the_old_formula_to_rounding() -> None:
    bars = next(BundledSource(("AAPL", "IBM")).bars())[1]
    close = bars.pivot(index="ts", columns="symbol", values="close").to_numpy(dtype=np.float64)
    vol = trailing_volatility(close, 20, 252.0)
    for j in range(close.shape[1]):
        rows = np.flatnonzero(np.isfinite(close[:, j]))
        rets = np.diff(np.log(close[rows, j]))
        expected = _numpy_two_pass(rets, 20) * np.sqrt(252.0)
        np.testing.assert_allclose(vol[rows[20:], j], expected, rtol=1e-12)
        # daily log returns have a mean near 0, so the old one-pass form was close here: sizes do not move
        old = _one_pass_rolling_std(rets, 20) * np.sqrt(252.0)
        np.testing.assert_allclose(vol[rows[20:], j], old, rtol=1e-6)


@pytest.mark.parametrize("rows", [1, 7, 1000, 4096])
def test_rolling_std_in_passes_equals_one_pass_over_every_window_bit_for_bit(
    spy_daily: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, rows: int
) -> None:
    # real SPY daily closes 1998-2021: several passes of `rows` windows and a shorter last one
    close = spy_daily["close"].to_numpy(dtype=np.float64)
    rets = np.diff(np.log(close))
    monkeypatch.setattr(volatility, "ROWS_PER_PASS", rows)
    for window, ddof, demean in ((20, 1, True), (63, 0, False), (5, 1, True)):
        whole = np.full(rets.shape, np.nan)
        whole[window - 1 :] = std_along(sliding_window_view(rets, window), axis=-1, ddof=ddof, demean=demean)
        assert np.array_equal(rolling_std(rets, window, ddof, demean), whole, equal_nan=True)
