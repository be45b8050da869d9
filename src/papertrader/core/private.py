"""Owner-only state: the home, the database and everything under them hold fills, positions and config."""

from __future__ import annotations

import os
import stat
from pathlib import Path

OWNER_DIR = 0o700
OWNER_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Create the folder and its missing parents 0700, and tighten the folder when others can read it."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=OWNER_DIR, exist_ok=True)
    _tighten(path, OWNER_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create the file empty and 0600 when missing (SQLite gives its -wal and -shm files the same mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_FILE))
    except FileExistsError:
        _tighten(path, OWNER_FILE)
    return path


def _tighten(path: Path, mode: int) -> None:
    """Drop group and other bits of a path this user owns; leave anyone else's path alone."""
    info = path.stat()
    if stat.S_IMODE(info.st_mode) & 0o077 and info.st_uid == os.getuid():
        path.chmod(stat.S_IMODE(info.st_mode) & ~0o077 | (mode & 0o700))
