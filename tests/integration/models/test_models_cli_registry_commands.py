"""`models show|promote|rollback`: the live version moves, and a corrupted artifact shows in its health."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from papertrader.cli_models import app
from papertrader.data import Lake
from papertrader.data.adapters.bundled import import_bundled
from papertrader.models.registry import Registry
from papertrader.models.sequence import WEIGHTS_FILE


def test_promote_rollback_and_show_a_corrupted_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import_bundled(Lake(tmp_path / "lake"))
    monkeypatch.setenv("PAPERTRADER_HOME", str(tmp_path))
    runner = CliRunner()
    for _ in range(2):
        done = runner.invoke(app, ["train", "gru", "--small", "--symbols", "AAPL,MSFT"])
        assert done.exit_code == 0, done.output
    registry = Registry(tmp_path)
    assert registry.versions("gru") == ["v0001", "v0002"] and registry.current("gru") == "v0001"
    assert runner.invoke(app, ["models", "promote", "gru", "v0002"]).exit_code == 0
    assert registry.current("gru") == "v0002"
    weights = registry.path("gru", "v0002") / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:100])
    shown = runner.invoke(app, ["models", "show", "gru"])
    assert shown.exit_code == 0
    assert "degraded" in shown.output and "serving v0001" in shown.output
    assert runner.invoke(app, ["models", "rollback", "gru"]).exit_code == 0
    assert registry.current("gru") == "v0001"
    refused = runner.invoke(app, ["models", "promote", "gru", "v0002"])
    assert refused.exit_code == 2 and "checksum" in refused.output
