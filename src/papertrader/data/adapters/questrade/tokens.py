"""The rotated refresh token on disk: written atomically, owner-only (0600), locked across processes.

Questrade refresh tokens are single-use, so losing the newest one means re-authorising by hand. The file
is therefore replaced atomically (temp file in the same directory, fsync, ``os.replace``, fsync of the
directory) and is never readable by group or others. A lock file serialises refreshes between processes
sharing one token file, so two of them never spend the same token.

File format: ``{"refresh_token": "...", "bootstrap_sha256": "...", "saved_at": "ISO-8601"}``;
``bootstrap_sha256`` is the digest of the environment token the chain started from, so a *new* token in
``PAPERTRADER_QUESTRADE_REFRESH_TOKEN`` can be told from the one already spent.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from filelock import FileLock

from papertrader.core.errors import ConfigError
from papertrader.data.adapters.questrade.secret import Secret

log = logging.getLogger(__name__)

_FILE_MODE = 0o600
_DIR_MODE = 0o700


@dataclass(frozen=True)
class StoredToken:
    """What the token file holds."""

    refresh_token: Secret
    bootstrap_sha256: str | None
    saved_at: str | None


class TokenStore:
    """Load and atomically replace the refresh-token file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser()
        self._thread_lock = threading.RLock()

    def __repr__(self) -> str:
        """Show where the token lives, never what it is."""
        return f"TokenStore({str(self.path)!r})"

    def load(self) -> StoredToken | None:
        """The stored token, or None before the first bootstrap; a damaged file is a ConfigError."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"cannot read the Questrade token file {self.path}: {exc.strerror}") from None
        self._tighten_mode()
        try:
            data = json.loads(raw.decode("utf-8"))
            token = data["refresh_token"]
            if not isinstance(token, str) or not token:
                raise ValueError("refresh_token is not a non-empty string")
            boot = data.get("bootstrap_sha256")
            saved = data.get("saved_at")
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            raise ConfigError(
                f"the Questrade token file {self.path} is damaged; delete it and set "
                "PAPERTRADER_QUESTRADE_REFRESH_TOKEN to a new token from Questrade's app hub"
            ) from None
        return StoredToken(
            Secret(token), boot if isinstance(boot, str) else None, saved if isinstance(saved, str) else None
        )

    def save(self, token: Secret, bootstrap_sha256: str | None, saved_at: datetime) -> None:
        """Atomically replace the file with the new token (0600), durable before this returns."""
        payload = json.dumps(
            {"refresh_token": token.reveal(), "bootstrap_sha256": bootstrap_sha256, "saved_at": saved_at.isoformat()}
        ).encode("utf-8")
        directory = self.path.parent
        tmp = directory / f".{self.path.name}.{uuid.uuid4().hex}.tmp"
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=_DIR_MODE)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
            try:
                os.write(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.chmod(tmp, _FILE_MODE)
            os.replace(tmp, self.path)
            self._fsync_dir(directory)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise ConfigError(
                f"cannot save the rotated Questrade refresh token to {self.path} ({exc.strerror}); the previous "
                "token is spent: make the directory writable (PAPERTRADER_HOME or "
                "PAPERTRADER_QUESTRADE_TOKEN_FILE), then set PAPERTRADER_QUESTRADE_REFRESH_TOKEN to a new token"
            ) from None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the refresh lock (threads and processes, on every platform) around read-refresh-save."""
        with self._thread_lock:
            lock_path = self.path.with_name(self.path.name + ".lock")
            try:
                lock_path.parent.mkdir(parents=True, exist_ok=True, mode=_DIR_MODE)
                lock = FileLock(lock_path, mode=_FILE_MODE)
                lock.acquire()
            except OSError as exc:
                raise ConfigError(f"cannot create the Questrade token lock {lock_path}: {exc.strerror}") from None
            try:
                yield
            finally:
                lock.release()

    def _tighten_mode(self) -> None:
        """If someone loosened the file's permissions, put them back to owner-only and say so."""
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode)
            if mode & 0o077:
                os.chmod(self.path, _FILE_MODE)
                log.warning("questrade token file %s was mode %o; reset to 600", self.path, mode)
        except OSError:
            pass

    @staticmethod
    def _fsync_dir(directory: Path) -> None:
        if sys.platform == "win32":  # pragma: no cover
            return
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
