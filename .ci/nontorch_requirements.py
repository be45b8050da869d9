"""Print what `make test-pythons` installs on a Python without torch's CPU wheel, and the pins it respects.

`requirements` prints papertrader's dependencies and the [demo] extra (the bundled data the tests import) plus
the test runners, less torch and what needs it (stable-baselines3); `constraints` prints requirements.lock less
those. Run by the target Python itself (tomllib is in the standard library from 3.11).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: torch and the packages that pull it in: on a Python without the local CPU wheel pip would fetch a CUDA build
TORCH = frozenset({"torch", "stable-baselines3"})
#: the test runners the torch-free subset needs (the rest of [dev] is lint and type tooling, run on 3.11 only)
TEST_TOOLS = ("pytest", "hypothesis")


def name_of(requirement: str) -> str:
    """The normalised distribution name of a requirement string."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def requirements() -> list[str]:
    """Runtime and demo dependencies without torch, plus pytest and hypothesis as pyproject.toml bounds them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    dev = {name_of(r): r for r in extras["dev"]}
    wanted = [*project["dependencies"], *extras["demo"], *(dev[t] for t in TEST_TOOLS)]
    return [r for r in wanted if name_of(r) not in TORCH]


def constraints() -> list[str]:
    """requirements.lock's pins less torch's: the versions CI's Python 3.11 runs."""
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    pins = [line.split("#", 1)[0].strip() for line in lines]
    return [p for p in pins if p and name_of(p) not in TORCH]


if __name__ == "__main__":
    print("\n".join(requirements() if sys.argv[1:] == ["requirements"] else constraints()))
