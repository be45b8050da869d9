"""`train --walk-forward --json`: the model beside every baseline, the seed target and the audit verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papertrader.cli.models import app
from papertrader.data import Lake
from papertrader.data.adapters.bundled import import_bundled


def test_walk_forward_json_has_stable_keys_and_every_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import_bundled(Lake(tmp_path / "lake"))
    monkeypatch.setenv("PAPERTRADER_HOME", str(tmp_path))
    out = tmp_path / "wf.json"
    result = CliRunner().invoke(
        app,
        ["train", "gru", "--walk-forward", "--small", "--folds", "2", "--symbols", "AAPL,IBM,MSFT", "--json", str(out)],
    )
    assert result.exit_code == 0, result.output
    gru = json.loads(out.read_text())["models"]["gru"]
    assert [m["model"] for m in gru["models"]] == ["gru", "majority", "logistic", "lightgbm", "buy_and_hold"]
    assert gru["target"]["metric"] == "accuracy" and gru["target"]["value"] == 0.6
    assert gru["audit"]["status"] in ("not needed (below target)", "passed", "FAILED: leakage suspected")
    assert len(gru["folds"]) == 2
    for row in gru["models"][:4]:
        assert set(row["classification"]) >= {
            "accuracy",
            "balanced_accuracy",
            "p_value",
            "log_loss",
            "brier",
            "rank_ic",
        }
    for row in gru["models"]:
        assert set(row["trading"]) >= {"sharpe", "total_return", "max_drawdown", "trades"}
    assert "GRU walk-forward" in result.output
