"""Calibrators are fitted on the calibration window only: rows at or after its end are never read."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from papertrader.engine.panel import Panel
from papertrader.features.technical import TechnicalSpec, compute_technical
from papertrader.features.view import FeatureView
from papertrader.signals.calibration import BoardCalibration, Curve, fit_board, fit_curve, outcome_labels
from papertrader.signals.members import TrendMember
from papertrader.signals.votes import Opinion, Timeframe
from support import load_shared_daily


def _real() -> tuple[Panel, dict[str, np.ndarray]]:
    bars = pd.concat([load_shared_daily(s) for s in ("SPY", "IBM", "QQQ")], ignore_index=True)
    bars = bars[bars["ts"].dt.year.between(2004, 2008)].reset_index(drop=True)
    panel = Panel.from_long(bars, "1d")
    features = dict(compute_technical(panel.prices, TechnicalSpec(sma=(20, 50))))
    features["close"] = panel.prices.close
    return panel, features


class Spy:
    """Wraps a member and remembers the latest row it was shown (and what it could have read)."""

    def __init__(self, inner: TrendMember) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.timeframe: Timeframe = inner.timeframe
        self.max_k = -1
        self.max_rows = 0

    def required_features(self) -> tuple[str, ...]:
        return self.inner.required_features()

    def opine(self, ts: datetime, view: FeatureView) -> Opinion:
        self.max_k = max(self.max_k, view.k)
        self.max_rows = max(self.max_rows, view.window("close", 10_000).shape[0])
        return self.inner.opine(ts, view)


def test_calibrator_fit_never_reads_rows_at_or_after_the_window_end() -> None:
    panel, features = _real()
    start, end = 300, 700
    spy = Spy(TrendMember())
    cal = fit_board([spy], features, panel.prices.close, panel.ts, start, end, {"trend": 20}, 0.002, "isotonic")
    assert spy.max_k == end - 1 and spy.max_rows <= end

    # scramble everything at and after `end`: the calibration must not move
    rng = np.random.default_rng(0)
    altered = {k: v.copy() for k, v in features.items()}
    for v in altered.values():
        v[end:] = rng.normal(100.0, 50.0, size=v[end:].shape)
    close = panel.prices.close.copy()
    close[end:] = rng.normal(100.0, 50.0, size=close[end:].shape)
    again = fit_board([TrendMember()], altered, close, panel.ts, start, end, {"trend": 20}, 0.002, "isotonic")
    assert again.to_dict() == cal.to_dict()
    assert cal.members["trend"].up.method == "isotonic" and cal.members["trend"].samples > 60


def test_labels_near_the_window_end_are_unknown_not_peeked() -> None:
    close = np.linspace(100, 200, 50)[:, None]
    up, down = outcome_labels(close, end=40, horizon=5, band=0.0)
    assert up.shape == (40, 1)
    assert np.isnan(up[35:]).all() and np.isfinite(up[:35]).all()
    assert (up[:35] == 1).all() and (down[:35] == 0).all()


def test_calibration_roundtrips_through_its_json_file(tmp_path: Path) -> None:
    panel, features = _real()
    cal = fit_board([TrendMember()], features, panel.prices.close, panel.ts, 300, 700, {"trend": 20}, 0.002, "platt")
    path = tmp_path / "board" / "calibration.json"
    cal.save(path)
    loaded = BoardCalibration.load(path)
    p = np.array([0.2, 0.5, 0.9, np.nan])
    assert np.allclose(loaded.members["trend"].up.apply(p), cal.members["trend"].up.apply(p), equal_nan=True)
    assert loaded.payoff == cal.payoff


def test_isotonic_curve_is_monotone_and_keeps_no_view_as_nan() -> None:
    rng = np.random.default_rng(1)  # synthetic: outcomes drawn with probability 0.3 + 0.4 * raw
    raw = rng.uniform(size=2000)
    y = (rng.uniform(size=2000) < 0.3 + 0.4 * raw).astype(float)
    curve = fit_curve(raw, y, "isotonic")
    grid = np.linspace(0, 1, 21)
    out = curve.apply(grid)
    assert (np.diff(out) >= -1e-12).all()
    assert out[5] == pytest.approx(0.4, abs=0.1) and out[15] == pytest.approx(0.6, abs=0.1)
    assert np.isnan(curve.apply(np.array([np.nan]))).all()
    assert Curve().apply(np.array([0.42]))[0] == 0.42
