"""On the bundled data: train all four families (small), register, load through the registry, predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from papertrader.cli.models import app
from papertrader.data import Lake
from papertrader.data.adapters.bundled import import_bundled
from papertrader.models.loading import ModelHandle
from papertrader.models.registry import Registry


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("home")
    import_bundled(Lake(root / "lake"))
    return root


def test_train_all_small_registers_versions_that_load_and_predict(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERTRADER_HOME", str(home))
    out = home / "train.json"
    result = CliRunner().invoke(app, ["train", "all", "--small", "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    # issue 13: `train all` trains the cross-sectional LightGBM family too
    assert set(report["models"]) == {"lstm", "gru", "ppo", "lgbm"}
    registry = Registry(home)
    for family in ("lstm", "gru", "rl", "lgbm"):
        assert registry.current(family) == "v0001"
        manifest = registry.manifest(family)
        assert manifest.training_window["start"].startswith("2000-03")  # daily, or the first weekly bar
        handle = ModelHandle(registry, family)
        predictor = handle.get()
        assert handle.health.status == "ok", handle.health.problems
        x = np.zeros((200, *predictor.input_shape), dtype=np.float32)
        probs = handle.predict(x)["probs"]
        assert probs.shape[0] == 200 and np.isfinite(probs).all()
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert report["models"]["lstm"]["metrics"]["holdout"]["n"] > 0

    listing = CliRunner().invoke(app, ["models", "list"])
    assert listing.exit_code == 0 and "lstm" in listing.output and "v0001" in listing.output
