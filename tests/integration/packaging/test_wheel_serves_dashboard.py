"""The wheel the normal build makes is the product: installed into a fresh virtual environment it carries the
dashboard and the migration scripts, and `papertrader serve` answers the dashboard's index page.

Hermetic: the wheel is built without build isolation and installed with --no-index --no-deps; the fresh venv reaches
the dependencies through a .pth line naming this interpreter's site-packages (a path line only: the editable
papertrader installed there is not activated, so the import must resolve to the wheel).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
STATIC_INDEX = ROOT / "src" / "papertrader" / "api" / "static" / "index.html"
PIP = (sys.executable, "-m", "pip", "--quiet")
BANNER = re.compile(r"dashboard: (http://127\.0\.0\.1:\d+)/")

pytestmark = pytest.mark.slow


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERTRADER_", "PYTHON"))}
    env["PAPERTRADER_HOME"] = str(home)
    return env


def _build_wheel(out: Path) -> Path:
    if not STATIC_INDEX.exists() and shutil.which("npm") is None:
        pytest.skip("the dashboard is not built and npm is missing: the build hook cannot make it here")
    subprocess.run(
        [*PIP, "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", str(out)],
        check=True,
        env={**os.environ, "PAPERTRADER_REQUIRE_DASHBOARD": "1"},
    )
    (wheel,) = out.glob("papertrader-*.whl")
    return wheel


def _fresh_venv(where: Path, wheel: Path) -> Path:
    venv.create(where, with_pip=False, clear=True)
    python = where / "bin" / "python"
    subprocess.run(
        [*PIP, "--python", str(python), "install", "--no-index", "--no-deps", str(wheel)],
        check=True,
        env=_clean_env(where),  # no PYTHONPATH: a source tree on it would look like papertrader installed already
    )
    # After the install, so pip never sees (or touches) the editable papertrader of this interpreter.
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(purelib) / "_papertrader_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def test_the_built_wheel_in_a_fresh_venv_serves_the_dashboard(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    assert "papertrader/api/static/index.html" in names, "the build hook put the dashboard into the wheel"
    assert any(n.startswith("papertrader/persistence/migrations/versions/0001") for n in names)
    assert "papertrader/persistence/migrations/script.py.mako" in names

    python = _fresh_venv(tmp_path / "venv", wheel)
    home = tmp_path / "home"
    env = _clean_env(home)
    where = subprocess.run(
        [python, "-c", "import papertrader, fastapi; print(papertrader.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert where.returncode == 0 and where.stdout.startswith(str(tmp_path / "venv")), where.stdout + where.stderr

    server = subprocess.Popen(
        [tmp_path / "venv" / "bin" / "papertrader", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        seen: list[str] = []
        url = None
        assert server.stdout is not None
        for line in server.stdout:
            seen.append(line)
            if match := BANNER.search(line):
                url = match.group(1)
                break
        assert url is not None, "".join(seen)
        page = httpx.get(f"{url}/", timeout=30)
        assert page.status_code == 200
        assert '<div id="root"></div>' in page.text and "make web" not in page.text
        asset = re.search(r'src="\./(assets/[^"]+\.js)"', page.text)
        assert asset is not None and httpx.get(f"{url}/{asset.group(1)}", timeout=30).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (home / "papertrader.db").exists(), "serve created the ledger in the given home, stamped by Alembic"
