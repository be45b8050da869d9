"""Baselines share the models' verbs: fit, predict, save, load, and predict the same after a round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from models_bars import tiny_sequence_model

from papertrader.core.errors import DataError
from papertrader.models.baselines import LightGBMBaseline, LogisticBaseline, MajorityClass, tabular_baselines


def test_every_baseline_round_trips_through_save_and_load(tmp_path: Path) -> None:
    _, _, data = tiny_sequence_model("lstm")
    x_train, x_test = data.train.last_step(), data.test.last_step()
    for baseline in tabular_baselines(3, seed=7):
        baseline.fit(x_train, data.train.y)
        probs = baseline.predict(x_test)
        assert probs.shape == (x_test.shape[0], 3)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0)
        directory = tmp_path / baseline.name
        baseline.save(directory)
        loaded = type(baseline).load(directory)  # type: ignore[attr-defined]
        np.testing.assert_array_equal(loaded.predict(x_test), probs)


def test_majority_predicts_the_training_prior_and_load_refuses_the_wrong_kind(tmp_path: Path) -> None:
    y = np.array([2, 2, 2, 0, 1])
    majority = MajorityClass(3).fit(np.zeros((5, 2), np.float32), y)
    assert majority.majority == 2
    np.testing.assert_allclose(majority.predict(np.zeros((2, 2), np.float32)), [[0.2, 0.2, 0.6]] * 2)
    majority.save(tmp_path)
    with pytest.raises(DataError, match="not a LightGBMBaseline"):
        LightGBMBaseline.load(tmp_path)
    assert isinstance(LogisticBaseline(3), LogisticBaseline)
