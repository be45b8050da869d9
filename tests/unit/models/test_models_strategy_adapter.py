"""ModelStrategy: a registered model trades through the engine's Strategy protocol, seeing only the past."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from models_bars import tiny_sequence_model

from papertrader.features.view import FeatureView
from papertrader.models.registry import Registration, Registry
from papertrader.models.sequence import SequenceModel
from papertrader.signals.models import ModelStrategy, edge_to_weights


class _Recorder:
    """A predictor that remembers its inputs and answers a fixed edge per symbol."""

    def __init__(self, probs: np.ndarray) -> None:
        self.probs = probs
        self.seen: list[np.ndarray] = []

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        self.seen.append(x.copy())
        return {"probs": self.probs}


def test_edges_map_to_bounded_long_weights() -> None:
    probs = np.array([[0.1, 0.1, 0.8], [0.5, 0.2, 0.3], [0.3, 0.3, 0.4]])
    w = edge_to_weights(probs, 0.05, False, 0.25)
    assert w[0] == pytest.approx(0.25 * (0.7 - 0.05) / 0.95)
    assert w[1] == 0.0 and 0 < w[2] < w[0]
    short = edge_to_weights(probs, 0.05, True, 0.25)
    assert short[1] < 0


def test_decisions_read_only_rows_up_to_the_current_cycle() -> None:
    t, n = 30, 2
    panels = {"a": np.arange(t * n, dtype=np.float64).reshape(t, n), "b": -np.ones((t, n))}
    predictor = _Recorder(np.array([[0.1, 0.1, 0.8], [0.6, 0.2, 0.2]]))
    strategy = ModelStrategy(predictor, ("a", "b"), lookback=5, n_symbols=n)
    assert strategy.decide(datetime(2020, 1, 1, tzinfo=UTC), FeatureView(panels, 2)).weights.tolist() == [0, 0]
    decision = strategy.decide(datetime(2020, 1, 1, tzinfo=UTC), FeatureView(panels, 10))
    x = predictor.seen[-1]
    assert x.shape == (n, 5, 2)
    np.testing.assert_array_equal(x[:, :, 0], panels["a"][6:11].T)
    assert decision.weights[0] > 0 and decision.weights[1] == 0
    assert "P(up) 0.80" in decision.explain(0)


def test_strategy_from_the_registry_loads_lazily_and_decides(tmp_path: Path) -> None:
    model, market, data = tiny_sequence_model("lstm")
    assert isinstance(model, SequenceModel) and model.pipeline is not None
    registry = Registry(tmp_path, revision=lambda: None)
    registry.register(
        "lstm",
        model,
        Registration(
            config={**model.spec.to_dict(), "n_features": len(model.pipeline.names)},
            schema_hash=model.pipeline.schema_hash,
            training_window={},
            data_fingerprint="f",
            metrics={},
        ),
    )
    strategy = ModelStrategy.from_registry(tmp_path, n_symbols=len(market.symbols))
    assert strategy.required_features() == model.pipeline.names
    panels = model.pipeline.transform(market.inputs).panels()
    k = int(data.test.rows[0])
    decision = strategy.decide(datetime(2020, 1, 1, tzinfo=UTC), FeatureView(panels, k))
    assert decision.weights.shape == (len(market.symbols),)
    assert np.all((decision.weights >= 0) & (decision.weights <= 1 / len(market.symbols)))
    direct = model.predict_array(
        np.transpose(np.stack([panels[f][k - 5 : k + 1] for f in model.pipeline.names], -1), (1, 0, 2)).astype(
            np.float32
        )
    )["probs"]
    np.testing.assert_allclose(decision.confidence, direct.max(axis=1), rtol=1e-6)
