"""Training windows: (samples, lookback, F) float32, built only from rows at or before each decision."""

from __future__ import annotations

import numpy as np
from models_bars import market

from papertrader.features.spec import PipelineSpec
from papertrader.models.data import featurize
from papertrader.models.dataset import MISSING, complete_windows, latest_windows, make_windows


def _tensor() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal((60, 3, 4)).astype(np.float32)


def test_window_is_the_lookback_rows_ending_at_the_decision_row() -> None:
    x = _tensor()
    labels = np.zeros((60, 3), dtype=np.int64)
    decision = np.arange(60, dtype=np.int64) * 1_000
    w = make_windows(x, labels, decision, lookback=5)
    batch = w.array()
    assert batch.dtype == np.float32 and batch.shape == (len(w), 5, 4)
    for i in (0, 17, len(w) - 1):
        t, n = w.rows[i], w.symbols[i]
        np.testing.assert_array_equal(batch[i], x[t - 4 : t + 1, n])
        assert w.decision_ns[i] == decision[t]
    assert w.rows.min() == 4  # the first complete window


def test_changing_rows_after_the_decision_leaves_every_window_unchanged() -> None:
    x = _tensor()
    labels = np.ones((60, 3), dtype=np.int64)
    before = make_windows(x, labels, np.arange(60), lookback=8)
    cut = 40
    altered = x.copy()
    altered[cut + 1 :] = 1e6
    after = make_windows(altered, labels, np.arange(60), lookback=8)
    keep = before.rows <= cut
    np.testing.assert_array_equal(before.batch(np.flatnonzero(keep)), after.batch(np.flatnonzero(after.rows <= cut)))


def test_gaps_missing_labels_and_non_finite_rows_drop_samples() -> None:
    x = _tensor()
    x[20, 1, 2] = np.nan
    labels = np.zeros((60, 3), dtype=np.int64)
    labels[50:, 0] = MISSING
    present = np.ones((60, 3), dtype=bool)
    present[30, 2] = False
    w = make_windows(x, labels, np.arange(60), lookback=5, present=present)
    pairs = set(zip(w.rows.tolist(), w.symbols.tolist(), strict=True))
    assert not any((t, 1) in pairs for t in range(20, 25))
    assert not any((t, 2) in pairs for t in range(30, 35))
    assert not any((t, 0) in pairs for t in range(50, 60))
    assert (25, 1) in pairs and (35, 2) in pairs
    mask = complete_windows(x, 5, present)
    assert not mask[22, 1] and mask[25, 1]


def test_windows_from_the_pipeline_use_features_known_at_the_bar_close() -> None:
    m = market()
    _, tensor = featurize(m, PipelineSpec(), (0, 400))
    w = make_windows(tensor, m.labels, m.decision_ns, 10, np.arange(400, 500), present=m.present)
    assert np.all(w.decision_ns == m.decision_ns[w.rows])
    # a daily bar is complete at 16:00 New York: the decision time is after the bar's own timestamp
    assert np.all(w.decision_ns > m.inputs.ts.asi8[w.rows])
    inference = latest_windows(tensor, 10, row=450)
    for j in range(len(m.symbols)):
        np.testing.assert_array_equal(inference[j], tensor[441:451, j])
