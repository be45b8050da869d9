"""Scalers and clip bounds learned on the training window only, and the bounded-fill missing policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
from feature_data import inputs

from papertrader.features.inputs import FeatureInputs
from papertrader.features.missing import FillState, MissingPolicy, fill_batch
from papertrader.features.pipeline import FeaturePipeline
from papertrader.features.scaling import FittedScaler, ScalingSpec, fit_scaler
from papertrader.features.technical import PriceArrays

TRAIN_END = pd.Timestamp("2003-01-01", tz="UTC")


def _altered_after(inp: FeatureInputs, cut: pd.Timestamp, seed: int = 1) -> FeatureInputs:
    rng = np.random.default_rng(seed)
    later = np.asarray(inp.ts >= cut)
    arrays = []
    for a in (inp.prices.open, inp.prices.high, inp.prices.low, inp.prices.close, inp.prices.volume):
        b = a.copy()
        b[later] *= rng.uniform(0.5, 2.0, size=b[later].shape)
        arrays.append(b)
    return FeatureInputs(inp.symbols, inp.interval, inp.ts, PriceArrays(*arrays), inp.external)


def test_changing_test_window_data_leaves_the_fitted_scaler_unchanged(etf_daily: pd.DataFrame) -> None:
    inp = inputs(etf_daily[etf_daily["ts"] < "2006-01-01"], "1d")
    pipe = FeaturePipeline()
    base = pipe.fit(inp, end=TRAIN_END).scaler
    for other in (_altered_after(inp, TRAIN_END), inp.head(int(inp.ts.searchsorted(TRAIN_END)))):
        fitted = pipe.fit(other, end=TRAIN_END).scaler
        for field in ("center", "scale", "lower", "upper"):
            np.testing.assert_array_equal(getattr(fitted, field), getattr(base, field), err_msg=field)
    moved = pipe.fit(_altered_after(inp, pd.Timestamp("2002-06-01", tz="UTC")), end=TRAIN_END).scaler
    assert not np.array_equal(moved.center, base.center)  # inside the window it does matter


def test_robust_parameters_are_median_iqr_and_training_quantile_clips(etf_daily: pd.DataFrame) -> None:
    close = inputs(etf_daily[etf_daily["ts"] < "2004-01-01"], "1d").prices.close
    returns = np.diff(np.log(close), axis=0)[None]  # one feature, (1, T, N)
    spec = ScalingSpec(clip_quantiles=(0.01, 0.99))
    fitted = fit_scaler(returns, spec)
    pooled = pd.Series(returns.ravel()).dropna()
    q = pooled.quantile([0.01, 0.25, 0.5, 0.75, 0.99])
    iqr = q[0.75] - q[0.25]
    np.testing.assert_allclose(fitted.center, [q[0.5]], rtol=1e-12)
    np.testing.assert_allclose(fitted.scale, [iqr], rtol=1e-12)
    np.testing.assert_allclose(fitted.lower, [(q[0.01] - q[0.5]) / iqr], rtol=1e-12)
    np.testing.assert_allclose(fitted.upper, [(q[0.99] - q[0.5]) / iqr], rtol=1e-12)
    scaled = fitted.apply(returns.copy())
    assert np.isfinite(scaled).all() and scaled.max() <= fitted.upper[0] and scaled.min() >= fitted.lower[0]
    rebuilt = FittedScaler.from_dict(fitted.to_dict())
    np.testing.assert_array_equal(rebuilt.apply(returns.copy()), scaled)


def test_a_rare_binary_flag_keeps_its_zero_and_one() -> None:
    flag = np.zeros((1, 1000, 2))
    flag[0, ::50] = 1.0  # 2% of rows, like half days
    fitted = fit_scaler(flag, ScalingSpec())
    assert set(np.unique(fitted.apply(flag.copy()))) == {0.0, 1.0}


def test_forward_fill_stops_after_max_rows_and_masks_every_original_gap() -> None:
    x = np.array([1.0, np.nan, np.nan, np.nan, 5.0, np.nan])[None, :, None]
    masks = fill_batch(x, MissingPolicy(max_ffill=2))
    np.testing.assert_array_equal(x[0, :, 0], [1, 1, 1, np.nan, 5, 5])
    np.testing.assert_array_equal(masks[0, :, 0], [0, 1, 1, 1, 0, 1])
    lead = np.array([np.nan, 2.0])[None, :, None]
    fill_batch(lead, MissingPolicy())
    assert np.isnan(lead[0, 0, 0])  # filling never looks forward


def test_row_by_row_fill_equals_the_batch_fill() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 400, 5))
    x[rng.random(x.shape) < 0.3] = np.nan
    x[:, 100:140, 2] = np.nan  # a long outage
    policy = MissingPolicy(max_ffill=4)
    batch = x.copy()
    batch_masks = fill_batch(batch, policy)
    state = FillState(3, 5, policy)
    for t in range(x.shape[1]):
        row = x[:, t].copy()
        np.testing.assert_array_equal(state.update(row), batch_masks[:, t])
        np.testing.assert_array_equal(row, batch[:, t])


def test_warm_up_gaps_stay_missing_while_later_gaps_are_filled() -> None:
    x = np.array([[np.nan, 1.0], [np.nan, np.nan], [3.0, 2.0], [np.nan, 4.0]])[None]
    masks = fill_batch(x, MissingPolicy(max_ffill=1))
    np.testing.assert_array_equal(x[0], [[np.nan, 1.0], [np.nan, 1.0], [3.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(masks[0], [[1, 0], [1, 1], [0, 0], [1, 0]])
    warm_only = np.array([[np.nan, 1.0], [np.nan, 2.0], [3.0, 2.0]])[None]
    fill_batch(warm_only, MissingPolicy())
    assert np.isnan(warm_only[0, :2, 0]).all()
