"""Database plumbing: engines from URLs, sessions, and the migration gate.

The service refuses to start on an unmigrated schema (`ensure_migrated`) rather than failing on
the first webhook. SQLite gets WAL, a busy timeout and driver-level transaction control so the
audit append and the inbox claim can ask for `BEGIN IMMEDIATE` (one writer at a time, no lost
upgrades), which pysqlite's implicit transactions cannot do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app.config.settings import shipped_dir
from app.core.errors import DatabaseNotReady

UPGRADE_COMMAND = "countersign db upgrade"
SQLITE_BUSY_TIMEOUT_S = 30.0
# Execution option read by the SQLite "begin" hook: "IMMEDIATE" takes the write lock up front.
SQLITE_BEGIN = "countersign_sqlite_begin"


def normalize_url(url: str) -> str:
    """Accept `postgres://` and `postgresql://` and use psycopg 3 (the only driver we ship)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<unparseable database URL>"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url` (COUNTERSIGN_DATABASE_URL); raises DatabaseNotReady on a bad URL."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except exc.ArgumentError as error:
        raise DatabaseNotReady(
            f"cannot parse database URL {url[:20]!r}…",
            hint="set COUNTERSIGN_DATABASE_URL like sqlite:///./countersign.db "
            "or postgresql+psycopg://user:pass@host/db",
        ) from error
    if parsed.get_backend_name() == "sqlite":
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine, in_memory=parsed.database in (None, "", ":memory:"))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    try:
        return create_engine(parsed, **kwargs)
    except (exc.ArgumentError, exc.NoSuchModuleError) as error:
        raise DatabaseNotReady(
            f"unsupported database URL {safe_url(url)}: {error}",
            hint="use sqlite:///FILE or postgresql+psycopg://…",
        ) from error


def _configure_sqlite(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {'IMMEDIATE' if mode == 'IMMEDIATE' else 'DEFERRED'}")


def write_options(engine: Engine) -> dict[str, Any]:
    """Execution options for a transaction that will write under a lock (IMMEDIATE on SQLite)."""
    return {SQLITE_BEGIN: "IMMEDIATE"} if engine.dialect.name == "sqlite" else {}


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (they are handed to renderers)."""
    return sessionmaker(bind=engine, class_=Session, expire_on_commit=False)


def alembic_config(url: str | None = None, *, connection: Connection | None = None) -> Config:
    """Alembic configuration located from the package, so it works from any cwd and the wheel.

    The URL travels in `attributes` rather than the ini (configparser would mangle `%`).
    """
    config = Config()
    config.set_main_option("script_location", str(shipped_dir("migrations")))
    if url is not None:
        config.attributes["url"] = normalize_url(url)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """Where the schema is (`current`, None when empty) against the code's `head`."""

    current: str | None
    head: str | None

    @property
    def up_to_date(self) -> bool:
        return self.current is not None and self.current == self.head


def migration_status(engine: Engine) -> MigrationStatus:
    """The applied and expected revisions; DatabaseNotReady when the database is unreachable."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except exc.OperationalError as error:
        raise DatabaseNotReady(
            f"cannot connect to the database at {safe_url(str(engine.url))}: "
            f"{str(error.orig or error).strip().splitlines()[0]}",
            hint="check COUNTERSIGN_DATABASE_URL and that the server is running",
        ) from error
    return MigrationStatus(current=current, head=head)


def ensure_migrated(engine: Engine) -> MigrationStatus:
    """Raise DatabaseNotReady, naming the command to run, unless the schema is at head."""
    status = migration_status(engine)
    if not status.up_to_date:
        raise DatabaseNotReady(
            f"database {safe_url(str(engine.url))} is at migration "
            f"{status.current or '<none>'}, this version needs {status.head}",
            hint=f"run `{UPGRADE_COMMAND}` with the same COUNTERSIGN_DATABASE_URL",
        )
    return status


def upgrade(url: str, revision: str = "head") -> MigrationStatus:
    """Apply migrations up to `revision` (what `countersign db upgrade` runs)."""
    from alembic import command

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), revision)
        return migration_status(engine)
    except exc.OperationalError as error:
        raise DatabaseNotReady(
            f"cannot migrate {safe_url(url)}: {str(error.orig or error).strip().splitlines()[0]}",
            hint="check COUNTERSIGN_DATABASE_URL and that the server is running",
        ) from error
    finally:
        engine.dispose()
