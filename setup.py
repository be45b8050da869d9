"""Build hook: every wheel carries the dashboard, so a `pip install` user gets the whole product.

Everything else about the package lives in pyproject.toml; this file only adds one step to `build_py`: when
src/papertrader/api/static/index.html is missing and web/ is here, run `npm ci && npm run build` in web/ (Vite writes
into api/static), then copy the package as usual. Editable installs skip it (`make web` builds the dashboard in
place for them). Without npm the wheel is still built, with a loud warning, unless PAPERTRADER_REQUIRE_DASHBOARD=1
(release builds set it) turns that into an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
STATIC_INDEX = ROOT / "src" / "papertrader" / "api" / "static" / "index.html"


def build_dashboard() -> bool:
    """Build web/ into api/static unless it is built already (True when it built); no Node.js fails only if required."""
    if STATIC_INDEX.exists() or not (WEB / "package.json").exists():
        return False
    npm = shutil.which("npm")
    if npm is None:
        message = "npm not found: this wheel has no dashboard (install Node.js >= 20.19, or run `make web` first)"
        if os.environ.get("PAPERTRADER_REQUIRE_DASHBOARD") == "1":
            raise SystemExit(f"error: {message}")
        print(f"WARNING: {message}", flush=True)
        return False
    print("==> building the dashboard: npm ci && npm run build in web/", flush=True)
    if not (WEB / "node_modules").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
    subprocess.run([npm, "run", "build"], cwd=WEB, check=True)
    if not STATIC_INDEX.exists():
        raise SystemExit(f"error: `npm run build` did not write {STATIC_INDEX}")
    return True


class BuildPyWithDashboard(build_py):
    """`build_py` that builds the dashboard first, so package data globs see api/static."""

    def run(self) -> None:
        """Build the dashboard (not for editable installs), then copy modules and package data."""
        if not getattr(self, "editable_mode", False) and build_dashboard():
            vars(self).pop("data_files", None)  # egg_info may have listed package data before api/static existed
        super().run()


setup(cmdclass={"build_py": BuildPyWithDashboard})
