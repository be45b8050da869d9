"""The package layers hold: no package imports one above it (import-linter's contract in pyproject.toml).

The same check `make lint` runs (`lint-imports`), here so that `pytest` alone catches an upward import, plus a
guard that every package of papertrader sits in some layer (a new package cannot slip past the contract).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "papertrader"


def _contract() -> dict[str, Any]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return dict(layers)


def test_the_layers_contract_is_kept_with_no_upward_import() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [str(lint), "--config", "pyproject.toml", "--no-cache", "--no-logo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 kept, 0 broken" in out.stdout  # the layers, and signals kept pure


def test_every_package_of_papertrader_is_in_one_layer() -> None:
    layered = [name.strip() for layer in _contract()["layers"] for name in str(layer).split("|")]
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert sorted(layered) == packages


def test_the_order_is_the_agreed_one_from_the_command_line_down_to_core() -> None:
    assert _contract()["layers"] == [
        "cli",
        "api",
        "engine",
        "reports",
        "signals | risk | portfolio",
        "models",
        "execution",
        "features",
        "data",
        "persistence",
        "config | domain",
        "core",
    ]
