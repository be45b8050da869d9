"""Engines that keep committed data safe: SQLite in WAL mode with sane pragmas, any other URL as given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from papertrader.core.private import OWNER_DIR, private_file

#: Execution option naming the SQLite ``BEGIN`` flavour (DEFERRED, IMMEDIATE, EXCLUSIVE) of a transaction.
#: Writers ask for IMMEDIATE so they take the write lock up front and never deadlock on a lock upgrade.
SQLITE_BEGIN_OPTION = "papertrader_sqlite_begin"
_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})
BUSY_TIMEOUT_MS = 5000


def is_sqlite_memory(url: URL) -> bool:
    """Whether the URL names an in-memory SQLite database, which needs a single shared connection."""
    if url.get_backend_name() != "sqlite":
        return False
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a committed transaction survives a process crash (only an OS crash or power
        # loss may roll back the last commits), and commits stay cheap.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_connect(dbapi_connection: Any, record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (see _sqlite_on_begin): the sqlite3 module's legacy transaction
    # control would otherwise run SELECTs outside the transaction that later writes depend on.
    dbapi_connection.isolation_level = None
    _sqlite_pragmas(dbapi_connection, record)


def _sqlite_on_begin(conn: Connection) -> None:
    mode = str(conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")).upper()
    if mode not in _BEGIN_MODES:
        raise ValueError(f"{SQLITE_BEGIN_OPTION} must be one of {sorted(_BEGIN_MODES)}, got {mode!r}")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str | URL, *, echo: bool = False) -> Engine:
    """Build an engine for any SQLAlchemy URL; SQLite gets WAL, durable sync, FKs and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    kwargs: dict[str, Any] = {}
    memory = is_sqlite_memory(parsed)
    if memory:
        # One connection shared by every user: otherwise each new connection sees an empty database.
        kwargs["poolclass"] = StaticPool
        kwargs["connect_args"] = {"check_same_thread": False}
    elif parsed.database and parsed.query.get("uri") not in ("true", "1"):
        path = Path(parsed.database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True, mode=OWNER_DIR)
        private_file(path)  # before SQLite creates it 0644; its -wal and -shm files copy this mode
    engine = create_engine(parsed, echo=echo, **kwargs)
    if memory:
        # One shared DBAPI connection: an explicit BEGIN from a second, overlapping checkout would fail
        # ("transaction within a transaction"), so keep the driver's implicit transactions; DML is still
        # atomic per SQLAlchemy transaction, and there is no other process to isolate from.
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def init_db(engine: Engine) -> None:
    """Bring the ledger to this release's schema (create, upgrade after a backup, or refuse a newer one) at startup."""
    from papertrader.persistence.migrate import ensure_schema  # migrate imports this module

    ensure_schema(engine)
