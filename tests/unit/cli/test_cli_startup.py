"""`papertrader --help` and every command start without importing the heavy libraries they may never use.

Checked by module, not by stopwatch: a subprocess imports the CLI and lists what came with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = (
    "torch",
    "stable_baselines3",
    "lightgbm",
    "ray",
    "sklearn",
    "matplotlib",
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "pandas",
    "numpy",
    "duckdb",
    "pyarrow",
    "talib",
)


def _imported_with(code: str) -> list[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "100"}
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_imports_no_heavy_library() -> None:
    assert _imported_with("import papertrader.cli") == []


def test_help_lists_every_command_without_importing_a_heavy_library() -> None:
    code = (
        "from typer.testing import CliRunner\nfrom papertrader.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\nassert r.exit_code == 0 and 'backtest' in r.output, r.output"
    )
    assert _imported_with(code) == []


def test_the_lazy_packages_still_export_their_names() -> None:
    from papertrader.api import ApiSettings, create_app
    from papertrader.data import Lake, validate_bars

    assert callable(create_app) and callable(validate_bars) and Lake.__name__ == "Lake"
    assert ApiSettings().host == "127.0.0.1"
