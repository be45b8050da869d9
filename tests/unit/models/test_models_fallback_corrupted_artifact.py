"""A truncated weights file: the handle serves the previous version, then the baseline, and says so."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from models_bars import tiny_sequence_model

from papertrader.core.clock import SimClock
from papertrader.models.loading import ModelHandle
from papertrader.models.registry import Registration, Registry
from papertrader.models.sequence import WEIGHTS_FILE, SequenceModel


def _register(registry: Registry, model: SequenceModel) -> str:
    assert model.pipeline is not None
    info = Registration(
        config={
            **model.spec.to_dict(),
            "n_features": len(model.pipeline.names),
            "input_shape": [model.spec.lookback, len(model.pipeline.names)],
        },
        schema_hash=model.pipeline.schema_hash,
        training_window={"start": model.pipeline.train_start, "end": model.pipeline.train_end},
        data_fingerprint="f",
        metrics={},
        fallback={"class_prior": [0.3, 0.1, 0.6]},
    )
    return registry.register("lstm", model, info, promote=True)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def test_truncated_weights_fall_back_to_the_previous_version_then_the_baseline(tmp_path: Path) -> None:
    registry = Registry(tmp_path, clock=SimClock(datetime(2024, 1, 2, tzinfo=UTC)), revision=lambda: None)
    model, _, data = tiny_sequence_model("lstm")
    assert isinstance(model, SequenceModel)
    v1 = _register(registry, model)
    v2 = _register(registry, model)
    x = data.test.batch(np.arange(8))
    _truncate(registry.path("lstm", v2) / WEIGHTS_FILE)

    handle = ModelHandle(registry, "lstm")
    out = handle.predict(x)
    health = handle.health.as_dict()
    assert health["requested"] == v2 and health["active"] == v1 and health["status"] == "degraded"
    assert any("weights.pt" in p for p in health["problems"])
    np.testing.assert_array_equal(out["probs"], model.predict_array(x)["probs"])

    _truncate(registry.path("lstm", v1) / WEIGHTS_FILE)
    fresh = ModelHandle(registry, "lstm")
    out = fresh.predict(x)
    assert fresh.health.active == "baseline" and fresh.health.status == "degraded"
    np.testing.assert_allclose(out["probs"], np.tile([0.3, 0.1, 0.6], (8, 1)))


def test_a_model_that_fails_while_predicting_is_replaced_by_the_fallback(tmp_path: Path) -> None:
    registry = Registry(tmp_path, revision=lambda: None)
    model, _, data = tiny_sequence_model("lstm")
    assert isinstance(model, SequenceModel)
    _register(registry, model)
    handle = ModelHandle(registry, "lstm")
    handle.get()
    bad = data.test.batch(np.arange(4))[:, :, :5]  # wrong feature count: the network raises
    out = handle.predict(bad)
    assert handle.health.active == "baseline"
    assert any("prediction failed" in p for p in handle.health.problems)
    assert out["probs"].shape == (4, 3)
