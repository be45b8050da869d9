"""The dashboard in Debian's Chromium during a replay: it loads, updates live, pauses and resumes, every page renders.

Starts `papertrader paper --replay` with the API on an ephemeral port (port 0: the banner says which one the
server got, so no port is picked and then raced for) against a fresh PAPERTRADER_HOME with the bundled data imported,
then runs web/e2e/dashboard.e2e.mjs (playwright-core driving /usr/bin/chromium). Screenshots of every page, at
desktop and phone widths, are saved under artifacts/screenshots/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from papertrader.cli import app as cli_app

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
SCRIPT = WEB / "e2e" / "dashboard.e2e.mjs"
STATIC = ROOT / "src" / "papertrader" / "api" / "static" / "index.html"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
NODE = shutil.which("node")
SPEED = "864000"  # ten market days a second: a few cycles a second, so changes are visible and pauses measurable


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return "Debian's chromium is not installed (apt-get install -y chromium; .ci/run does it)"
    if NODE is None:
        return "node is not installed"
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        return "web/node_modules is missing: run `make web`"
    if not STATIC.is_file():
        return "the dashboard is not built: run `make web`"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


BANNER = re.compile(r"dashboard: (http://127\.0\.0\.1:\d+)/#token=")


def _replay_command() -> list[str]:
    """The real CLI: a paced replay that serves the API and the dashboard while it runs."""
    return [sys.executable, "-m", "papertrader.cli", "paper", "--replay", "--speed", SPEED, "--start", "2005-01-01"]


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A replay serving the API on a free port; yields (base URL, token) and stops the run afterwards."""
    home = tmp_path / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        imported = CliRunner().invoke(cli_app, ["data", "import", "--source", "bundled"])
    assert imported.exit_code == 0, imported.output
    env = {**os.environ, "PAPERTRADER_HOME": str(home), "PAPERTRADER_API_PORT": "0", "COLUMNS": "200"}
    log = (tmp_path / "replay.log").open("w")
    proc = subprocess.Popen(_replay_command(), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = ""
    token = ""
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "replay.log").read_text()
            found = BANNER.search((tmp_path / "replay.log").read_text())
            if found is None:
                time.sleep(0.5)
                continue
            base = found.group(1)
            try:
                health = httpx.get(f"{base}/api/v1/health", timeout=2).json()
                if health["live"] and health["as_of"]:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("the replay's API did not come up: " + (tmp_path / "replay.log").read_text()[-2000:])
        token = (home / "api-token").read_text().strip()
        printed = (tmp_path / "replay.log").read_text()
        assert f"#token={token}" in printed, "the first start prints the dashboard URL with the new token"
        yield base, token
    finally:
        if token and base:
            try:
                httpx.post(f"{base}/api/v1/control/stop", headers={"Authorization": f"Bearer {token}"}, timeout=5)
                proc.wait(30)
            except (httpx.HTTPError, subprocess.TimeoutExpired):
                pass
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
        log.close()


def test_dashboard_follows_a_replay_and_steers_it_in_chromium(replay: tuple[str, str]) -> None:
    base, token = replay
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    started = time.monotonic()
    done = subprocess.run(
        [NODE or "node", str(SCRIPT), "--url", base, f"--token={token}", "--out", str(SCREENSHOTS)],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CHROMIUM_PATH": CHROMIUM},
        check=False,
    )
    assert done.stdout.strip(), done.stderr
    report = json.loads(done.stdout)
    failed = [c for c in report["checks"] if not c["ok"]]
    assert not failed, json.dumps(failed, indent=2) + "\n" + done.stderr[-2000:]
    assert report["consoleErrors"] == []
    names = {Path(p).name for p in report["screenshots"]}
    pages = ("overview", "performance", "signals", "decisions", "risk", "trades", "controls")
    assert names == {f"{i}-{p}.png" for i, p in enumerate(pages, 1)} | {
        f"phone-{i}-{p}.png" for i, p in enumerate(pages, 1)
    }
    assert all((SCREENSHOTS / n).stat().st_size > 10_000 for n in names)
    print(f"browser run: {time.monotonic() - started:.1f}s, timings {report['timings']}")
