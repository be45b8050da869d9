"""`models show|promote|rollback`: the live version moves, and a corrupted artifact shows in its health."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from papertrader.cli.models import app
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


def test_models_list_and_show_report_the_quality_gate_each_version_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from papertrader.models.gate import NO_GATE_REASON, gate_of

    import_bundled(Lake(tmp_path / "lake"))
    monkeypatch.setenv("PAPERTRADER_HOME", str(tmp_path))
    runner = CliRunner()
    done = runner.invoke(app, ["train", "lstm", "--small", "--symbols", "AAPL,MSFT"])
    assert done.exit_code == 0, done.output
    assert "quality gate (validation and held-out test rows):" in done.output
    registry = Registry(tmp_path)
    gate = gate_of(registry.manifest("lstm").metrics)
    assert gate is not None and gate.n > 0
    out = tmp_path / "models.json"
    listed = runner.invoke(app, ["models", "list", "--json", str(out)])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(out.read_text())
    stored = {k: v for k, v in row["metrics"]["gate"].items() if k != "windows"}  # each window's own record
    assert row["gate"] == gate.to_dict() == stored
    assert set(row["gate"]) >= {"passed", "prediction_std", "log_loss", "base_log_loss", "rank_ic", "reason"}
    verdict = "passed" if gate.passed else "failed"
    assert verdict in listed.output
    shown = runner.invoke(app, ["models", "show", "lstm"])
    assert shown.exit_code == 0 and f"quality gate: {verdict}: {gate.reason}" in _flat(shown.output)

    manifest_path = registry.path("lstm", "v0001") / "manifest.json"  # a version from before the gate existed
    old = json.loads(manifest_path.read_text())
    del old["metrics"]["gate"]
    manifest_path.write_text(json.dumps(old))
    shown = runner.invoke(app, ["models", "show", "lstm"])
    assert f"quality gate: none: {NO_GATE_REASON}" in _flat(shown.output)


def _flat(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())
