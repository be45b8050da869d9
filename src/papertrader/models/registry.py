"""Versioned, self-describing model artifacts under PAPERTRADER_HOME/models/{lstm,gru,rl,lgbm}/<version>/.

Each version directory holds the model's own files (weights, config, fitted pipeline) and manifest.json:
family, version, creation time, config, feature schema hash, training window, data fingerprint, metrics,
library versions, git revision, and a sha256 of every file (a truncated or edited file is caught before
it is unpickled). `promotions.json` per family records which version is live and the promotion history,
so `rollback` returns to the version promoted before. Versions are written to a hidden temporary
directory and renamed into place: a reader never sees half an artifact.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import ConfigError, DataError
from papertrader.core.private import private_dir

Family = Literal["lstm", "gru", "rl", "lgbm"]
FAMILIES: Final[tuple[Family, ...]] = ("lstm", "gru", "rl", "lgbm")
# what each trainable kind (a strategy or board member name) is registered as
MEMBER_FAMILY: Final[dict[str, Family]] = {"lstm": "lstm", "gru": "gru", "ppo": "rl", "lgbm": "lgbm"}
MANIFEST: Final = "manifest.json"
PROMOTIONS: Final = "promotions.json"
_LIBRARIES: Final = ("torch", "numpy", "pandas", "scikit-learn", "lightgbm", "stable-baselines3", "gymnasium", "ray")


class Saveable(Protocol):
    """Anything with the registry's verb for writing itself into a directory."""

    def save(self, directory: Path) -> None:
        """Write every file needed to load the model again."""
        ...


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a model's numbers depend on."""
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def git_revision(where: Path | None = None) -> str | None:
    """The source tree's commit (None without git or outside a repository: not an error)."""
    cwd = where or Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    rev = done.stdout.strip()
    return rev if done.returncode == 0 and rev else None


def file_digests(directory: Path) -> dict[str, str]:
    """sha256 of every file in an artifact directory except the manifest itself."""
    out: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name != MANIFEST:
            out[path.relative_to(directory).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@dataclass(frozen=True)
class Manifest:
    """What a version is: enough to reproduce it and to refuse it when it no longer fits."""

    family: Family
    version: str
    created_at: str
    config: dict[str, Any]
    schema_hash: str
    training_window: dict[str, str]
    data_fingerprint: str
    metrics: dict[str, Any]
    libraries: dict[str, str]
    git_revision: str | None
    files: dict[str, str]
    fallback: dict[str, Any] = field(default_factory=dict)  # e.g. class prior for the baseline

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for manifest.json."""
        return {
            "family": self.family,
            "version": self.version,
            "created_at": self.created_at,
            "config": self.config,
            "schema_hash": self.schema_hash,
            "training_window": self.training_window,
            "data_fingerprint": self.data_fingerprint,
            "metrics": self.metrics,
            "libraries": self.libraries,
            "git_revision": self.git_revision,
            "files": self.files,
            "fallback": self.fallback,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Rebuild from manifest.json."""
        return cls(**data)


@dataclass(frozen=True)
class Registration:
    """What the caller knows about a freshly trained model, before the registry stamps it."""

    config: dict[str, Any]
    schema_hash: str
    training_window: dict[str, str]
    data_fingerprint: str
    metrics: dict[str, Any]
    fallback: dict[str, Any] = field(default_factory=dict)


def check_family(family: str) -> Family:
    """Validate a family name from the command line or a config."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown model family {family!r}: use one of {', '.join(FAMILIES)}")
    return family


class Registry:
    """The models directory of one PAPERTRADER_HOME."""

    def __init__(self, home: Path, clock: Clock | None = None, revision: Callable[[], str | None] = git_revision):
        self.root = Path(home) / "models"
        self._clock: Clock = clock or WallClock()
        self._revision = revision

    def family_dir(self, family: str) -> Path:
        """Where one family's versions live."""
        return self.root / check_family(family)

    def path(self, family: str, version: str) -> Path:
        """One version's directory."""
        return self.family_dir(family) / version

    def versions(self, family: str) -> list[str]:
        """Registered versions, oldest first."""
        d = self.family_dir(family)
        if not d.is_dir():
            return []
        return sorted(p.name for p in d.iterdir() if p.is_dir() and p.name.startswith("v"))

    def register(self, family: str, model: Saveable, info: Registration, promote: bool | None = None) -> str:
        """Save a model as the next version; promote it if asked, or if the family has no live version."""
        fam = check_family(family)
        d = self.family_dir(fam)
        private_dir(d)
        tmp = Path(tempfile.mkdtemp(prefix=".incoming-", dir=d))
        try:
            model.save(tmp)
            while True:
                version = self._next_version(fam)
                manifest = Manifest(
                    family=fam,
                    version=version,
                    created_at=self._clock.now().isoformat(),
                    config=info.config,
                    schema_hash=info.schema_hash,
                    training_window=info.training_window,
                    data_fingerprint=info.data_fingerprint,
                    metrics=info.metrics,
                    libraries=library_versions(),
                    git_revision=self._revision(),
                    files=file_digests(tmp),
                    fallback=info.fallback,
                )
                (tmp / MANIFEST).write_text(json.dumps(manifest.to_dict(), indent=2, default=str))
                try:
                    os.rename(tmp, d / version)
                    break
                except OSError:
                    if not (d / version).exists():
                        raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if promote or (promote is None and self.current(fam) is None):
            self.promote(fam, version)
        return version

    def _next_version(self, family: Family) -> str:
        numbers = [int(v[1:]) for v in self.versions(family) if v[1:].isdigit()]
        return f"v{max(numbers, default=0) + 1:04d}"

    def manifest(self, family: str, version: str | None = None) -> Manifest:
        """The manifest of a version (default: the live one)."""
        v = version or self.current(family)
        if v is None:
            raise ConfigError(f"no {family} model is registered; run `papertrader train {family}` first")
        path = self.path(family, v) / MANIFEST
        if not path.exists():
            raise ConfigError(f"{family} version {v} does not exist; `papertrader models list` shows them")
        try:
            return Manifest.from_dict(json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise DataError(f"{family} {v}: unreadable manifest ({exc}); retrain or roll back") from exc

    def verify(self, family: str, version: str) -> list[str]:
        """Problems with a version's files against its manifest (missing, changed, truncated); [] if none."""
        manifest = self.manifest(family, version)
        actual = file_digests(self.path(family, version))
        problems = [f"{name}: missing" for name in manifest.files if name not in actual]
        problems += [
            f"{name}: checksum mismatch (corrupted or edited)"
            for name, digest in manifest.files.items()
            if name in actual and actual[name] != digest
        ]
        return problems

    # ------------------------------------------------------------ promotion

    def _promotions(self, family: str) -> dict[str, Any]:
        path = self.family_dir(family) / PROMOTIONS
        if not path.exists():
            return {"current": None, "history": []}
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def _write_promotions(self, family: str, data: dict[str, Any]) -> None:
        d = self.family_dir(family)
        private_dir(d)
        tmp = d / f".{PROMOTIONS}.tmp"
        tmp.write_text(json.dumps(data, indent=2))
        os.replace(tmp, d / PROMOTIONS)

    def current(self, family: str) -> str | None:
        """The live version, if any."""
        value = self._promotions(family).get("current")
        return str(value) if value else None

    def history(self, family: str) -> list[dict[str, str]]:
        """Promotions, oldest first: {'version', 'at', 'action'}."""
        return list(self._promotions(family).get("history", []))

    def promote(self, family: str, version: str) -> None:
        """Make a registered version the live one."""
        if version not in self.versions(family):
            raise ConfigError(f"{family} version {version} does not exist; `papertrader models list` shows them")
        data = self._promotions(family)
        data["current"] = version
        data.setdefault("history", []).append(
            {"version": version, "at": self._clock.now().isoformat(), "action": "promote"}
        )
        self._write_promotions(family, data)

    def previous(self, family: str) -> str | None:
        """The version that was live before the current one (None if there is none)."""
        current = self.current(family)
        seen = [h["version"] for h in self.history(family) if h["version"] != current]
        return seen[-1] if seen else None

    def rollback(self, family: str) -> str:
        """Go back to the previously promoted version; returns it."""
        target = self.previous(family)
        if target is None:
            raise ConfigError(f"{family} has no earlier promoted version to roll back to")
        data = self._promotions(family)
        current = data.get("current")
        data["current"] = target
        data["history"] = [h for h in data.get("history", []) if h["version"] != current] + [
            {"version": target, "at": self._clock.now().isoformat(), "action": f"rollback from {current}"}
        ]
        self._write_promotions(family, data)
        return target

    def fallback_order(self, family: str) -> list[str]:
        """Versions to try when loading: the live one, then earlier promoted ones, newest first."""
        current = self.current(family)
        order = [current] if current else []
        for h in reversed(self.history(family)):
            if h["version"] not in order and h["version"] in self.versions(family):
                order.append(h["version"])
        return order
