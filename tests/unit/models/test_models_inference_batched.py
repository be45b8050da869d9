"""One batched call for all symbols gives the same decisions as asking the models one symbol at a time."""

from __future__ import annotations

import numpy as np
from models_bars import tiny_sequence_model

from papertrader.models.inference import BatchInference
from papertrader.models.loading import BaselinePredictor
from papertrader.models.sequence import SequenceModel


class _Seq:
    def __init__(self, model: SequenceModel) -> None:
        self.model = model

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        return self.model.predict_array(x)


def test_batched_decisions_equal_the_per_symbol_loop() -> None:
    lstm, _, lstm_data = tiny_sequence_model("lstm")
    gru, _, gru_data = tiny_sequence_model("gru")
    assert isinstance(lstm, SequenceModel) and isinstance(gru, SequenceModel)
    n = 12
    rl = BaselinePredictor("rl", (9,), np.array([1.0, 0, 0, 0, 0]))
    engine = BatchInference(_Seq(lstm), _Seq(gru), rl, threads=1)
    lx = lstm_data.test.batch(np.arange(n))
    gx = gru_data.test.batch(np.arange(n))
    obs = np.zeros((n, 9), dtype=np.float32)
    batched = engine.decide(lx, gx, obs)
    looped = engine.decide_per_symbol(lx, gx, obs)
    np.testing.assert_allclose(batched.direction, looped.direction, atol=1e-6)
    np.testing.assert_allclose(batched.trend, looped.trend, atol=1e-6)
    np.testing.assert_allclose(batched.reversal, looped.reversal, atol=1e-6)
    np.testing.assert_array_equal(batched.action, looped.action)
    assert batched.direction.shape == (n, 3) and np.allclose(batched.direction.sum(axis=1), 1.0)
