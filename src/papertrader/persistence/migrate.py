"""Keep the ledger at the schema this code knows: stamp a new database, upgrade an older one after a backup copy,
refuse a newer one.

Users keep paper-trading histories for months, so a release that changes a table ships an Alembic revision
(``persistence/migrations/versions``) instead of breaking every existing ``papertrader.db``. The common case, a
database already at ``HEAD_REVISION``, costs one SELECT and never imports Alembic.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

from sqlalchemy import Column, Connection, Engine, MetaData, PrimaryKeyConstraint, String, Table, inspect, select
from sqlalchemy.engine import URL

from papertrader.core.errors import ConfigError
from papertrader.core.private import private_file
from papertrader.persistence.db import SQLITE_BEGIN_OPTION, is_sqlite_memory
from papertrader.persistence.models import Base

log = logging.getLogger(__name__)

#: The newest revision under migrations/versions; a test checks it equals Alembic's head.
HEAD_REVISION: Final = "0002"
MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")
VERSION_TABLE: Final = "alembic_version"
PRE_ALEMBIC: Final = "pre-alembic"

# Alembic's own version table, declared here so a fresh database is stamped without importing Alembic.
_version_metadata = MetaData()
_version_table = Table(
    VERSION_TABLE,
    _version_metadata,
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)

Action = Literal["current", "created", "upgraded"]


class SchemaError(ConfigError):
    """The database's schema is one this code cannot use: written by a newer papertrader, or missing columns."""


@dataclass(frozen=True)
class SchemaReport:
    """What opening the database did: nothing, created and stamped it, or upgraded it (and where the backup is)."""

    action: Action
    from_revision: str | None
    to_revision: str
    backup: Path | None = None


def known_revisions() -> frozenset[str]:
    """Every revision the shipped migration scripts define (imports Alembic: only off the fast path)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return frozenset(rev.revision for rev in script.walk_revisions())


def script_head() -> str:
    """Alembic's head revision of the shipped scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    if head is None:
        raise SchemaError(f"no migration scripts under {MIGRATIONS_DIR}; the papertrader install is incomplete")
    return head


def stored_revision(conn: Connection) -> str | None:
    """The database's Alembic revision; PRE_ALEMBIC for a ledger made by create_all; None for an empty database."""
    tables = set(inspect(conn).get_table_names())
    if VERSION_TABLE in tables:
        rows = list(conn.execute(select(_version_table.c.version_num)).scalars())
        if len(rows) == 1:
            return str(rows[0])
        if not rows:
            return PRE_ALEMBIC if tables & set(Base.metadata.tables) else None
        raise SchemaError(f"the database has {len(rows)} schema revisions ({', '.join(rows)}); expected one")
    return PRE_ALEMBIC if tables & set(Base.metadata.tables) else None


def ensure_schema(engine: Engine, *, now: Callable[[], datetime] | None = None) -> SchemaReport:
    """Bring the database to HEAD_REVISION: create+stamp when empty, back up then upgrade when older, else refuse."""
    with engine.connect() as conn:  # the usual case reads only: `runs` never waits for a running engine's writes
        if stored_revision(conn) == HEAD_REVISION:
            return SchemaReport("current", HEAD_REVISION, HEAD_REVISION)
    with _write_transaction(engine) as conn:
        revision = stored_revision(conn)
        if revision == HEAD_REVISION:
            return SchemaReport("current", revision, HEAD_REVISION)
        if revision is None:
            Base.metadata.create_all(conn, checkfirst=True)
            _stamp(conn, HEAD_REVISION)
            return SchemaReport("created", None, HEAD_REVISION)
        _refuse_unknown(revision, engine.url)
        # Under the write lock: readers still see the committed database, and no other start can upgrade (or back
        # up) it meanwhile, so exactly one process copies and upgrades it.
        backup = backup_sqlite(engine.url, revision, (now or _utc_now)())
        _upgrade(conn)
        _check_columns(conn, backup)
    log.warning(
        "upgraded the database schema %s -> %s%s",
        revision,
        HEAD_REVISION,
        f"; the previous file is kept at {backup}" if backup else "",
    )
    return SchemaReport("upgraded", revision, HEAD_REVISION, backup)


def backup_sqlite(url: URL, revision: str | None, at: datetime) -> Path | None:
    """Copy a file SQLite database next to itself, owner-only, before a migration touches it; None otherwise."""
    if url.get_backend_name() != "sqlite" or is_sqlite_memory(url) or not url.database:
        if not is_sqlite_memory(url):
            log.warning("no automatic backup for %s databases: back it up before upgrading", url.get_backend_name())
        return None
    source = Path(url.database).expanduser()
    target = source.with_name(f"{source.name}.bak-{revision or PRE_ALEMBIC}-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}")
    private_file(target)
    # The online backup API copies a consistent snapshot, committed WAL content included.
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return target


def _utc_now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds SQLite's write lock from the start, so two starts never race."""
    with engine.connect() as conn, conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"}).begin():
        yield conn


def _refuse_unknown(revision: str, url: URL) -> None:
    if revision == PRE_ALEMBIC or revision in known_revisions():
        return
    raise SchemaError(
        f"the database {url.render_as_string(hide_password=True)} has schema revision {revision!r}, which this "
        f"papertrader (schema {HEAD_REVISION}) does not know: it was written by a newer release. Upgrade papertrader "
        "(pip install -U papertrader), or point PAPERTRADER_HOME / PAPERTRADER_DATABASE_URL at another database; "
        "papertrader never downgrades a ledger."
    )


def _stamp(conn: Connection, revision: str) -> None:
    _version_metadata.create_all(conn, checkfirst=True)
    conn.execute(_version_table.delete())
    conn.execute(_version_table.insert().values(version_num=revision))


def _upgrade(conn: Connection) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


def _check_columns(conn: Connection, backup: Path | None) -> None:
    """After an upgrade every model column must exist; a create_all ledger older than 0.1.0 may lack some."""
    inspector = inspect(conn)
    missing = [
        f"{name}.{column.name}"
        for name, table in Base.metadata.tables.items()
        for column in table.columns
        if column.name not in {c["name"] for c in inspector.get_columns(name)}
    ]
    if missing:
        kept = f"; the untouched copy is {backup}" if backup else ""
        raise SchemaError(
            f"the database predates schema tracking and lacks column(s) {', '.join(missing)}: it was made by a "
            f"papertrader older than 0.1.0 and cannot be upgraded automatically{kept}"
        )
