"""The registry: self-describing versions that load back to the same predictions; promote and roll back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from models_bars import tiny_sequence_model

from papertrader.core.clock import SimClock
from papertrader.core.errors import ConfigError
from papertrader.models.loading import ModelHandle, load_version
from papertrader.models.registry import MANIFEST, Registration, Registry
from papertrader.models.sequence import SequenceModel


def _registration(model: SequenceModel) -> Registration:
    assert model.pipeline is not None
    return Registration(
        config={**model.spec.to_dict(), "n_features": len(model.pipeline.names)},
        schema_hash=model.pipeline.schema_hash,
        training_window={"start": model.pipeline.train_start, "end": model.pipeline.train_end},
        data_fingerprint="abc123",
        metrics={"holdout": {"accuracy": 0.5}},
        fallback={"class_prior": [0.4, 0.1, 0.5]},
    )


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path, clock=SimClock(datetime(2024, 1, 2, tzinfo=UTC)), revision=lambda: None)


def test_register_then_load_predicts_exactly_as_before(registry: Registry) -> None:
    model, _, data = tiny_sequence_model("gru")
    assert isinstance(model, SequenceModel)
    version = registry.register("gru", model, _registration(model))
    assert version == "v0001" and registry.current("gru") == "v0001"  # the first version goes live
    loaded = load_version(registry, "gru", version, model.pipeline.schema_hash if model.pipeline else None)
    x = data.test.batch(np.arange(20))
    before, after = model.predict_array(x), loaded.predict(x)
    assert before.keys() == after.keys() == {"probs", "reversal"}
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])


def test_manifest_describes_the_artifact_completely(registry: Registry) -> None:
    model, _, _ = tiny_sequence_model("lstm")
    assert isinstance(model, SequenceModel)
    version = registry.register("lstm", model, _registration(model))
    manifest = json.loads((registry.path("lstm", version) / MANIFEST).read_text())
    for key in ("config", "schema_hash", "training_window", "data_fingerprint", "metrics", "libraries", "files"):
        assert manifest[key], key
    assert manifest["git_revision"] is None  # no git is not an error
    assert manifest["created_at"] == "2024-01-02T00:00:00+00:00"
    assert {"weights.pt", "config.json", "pipeline.json"} <= set(manifest["files"])
    assert manifest["libraries"]["torch"].startswith("2.")
    stored = json.loads((registry.path("lstm", version) / "pipeline.json").read_text())
    assert stored["schema_hash"] == manifest["schema_hash"] and "scaler" in stored
    assert registry.verify("lstm", version) == []


def test_promote_and_rollback_move_the_live_version(registry: Registry) -> None:
    model, _, _ = tiny_sequence_model("lstm")
    assert isinstance(model, SequenceModel)
    v1 = registry.register("lstm", model, _registration(model))
    v2 = registry.register("lstm", model, _registration(model))
    assert registry.current("lstm") == v1  # a later version is not live until promoted
    registry.promote("lstm", v2)
    assert registry.current("lstm") == v2 and registry.previous("lstm") == v1
    assert registry.rollback("lstm") == v1
    assert registry.current("lstm") == v1
    with pytest.raises(ConfigError, match="no earlier"):
        registry.rollback("lstm")
    with pytest.raises(ConfigError, match="does not exist"):
        registry.promote("lstm", "v0099")


def test_loading_is_lazy_and_checks_the_running_schema(registry: Registry) -> None:
    model, _, _ = tiny_sequence_model("lstm")
    assert isinstance(model, SequenceModel) and model.pipeline is not None
    registry.register("lstm", model, _registration(model))
    handle = ModelHandle(registry, "lstm", expected_schema=model.pipeline.schema_hash)
    assert handle.health.active is None  # nothing loaded yet
    handle.get()
    assert handle.health.as_dict()["status"] == "ok" and handle.health.active == "v0001"
    wrong = ModelHandle(registry, "lstm", expected_schema="0" * 64)
    wrong.get()
    assert wrong.health.active == "baseline"
    assert any("feature schema" in p for p in wrong.health.problems)
