"""Migrations that N replicas may start at once: each migration is applied exactly once.

`countersign serve --migrate` and `countersign db upgrade` both go through `upgrade_locked`.
On PostgreSQL a session advisory lock (one fixed key per database) serialises the starters: the
first applies what is missing, the others wait on the lock and then find the schema at head. On
SQLite an exclusive `flock` on `<database>.migrate.lock` next to the file does the same for
processes on one machine (SQLite cannot be shared across machines anyway). The lock is released
when the holder ends, even by kill -9 (the connection or file descriptor closes).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine, exc
from sqlalchemy.engine import make_url

from app.core.errors import DatabaseNotReady
from app.store.db import MigrationStatus, make_engine, migration_status, normalize_url, safe_url
from app.store.db import upgrade as _upgrade

# One key for "countersign migrations" in this database (pg advisory locks are database-wide).
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"countersign:migrations").digest()[:8], "big", signed=True
)


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    """What one starter found (`before`) and left (`after`); `applied` when it migrated."""

    before: str | None
    after: MigrationStatus

    @property
    def applied(self) -> bool:
        return self.before != self.after.current


def sqlite_lock_path(url: str) -> Path | None:
    """The lock file beside a SQLite database file; None for in-memory or non-SQLite URLs."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(f"{parsed.database}.migrate.lock")


@contextmanager
def migration_lock(engine: Engine, url: str) -> Iterator[None]:
    """Hold the database-wide migration lock (blocking until the current holder is done)."""
    if engine.dialect.name == "postgresql":
        try:
            conn = engine.connect()
        except exc.OperationalError as error:
            raise DatabaseNotReady(
                f"cannot connect to {safe_url(url)} to take the migration lock: "
                f"{str(error.orig or error).strip().splitlines()[0]}",
                hint="check COUNTERSIGN_DATABASE_URL and that the server is running",
            ) from error
        with conn:
            conn.execute(sa.select(sa.func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
                conn.commit()
        return
    path = sqlite_lock_path(url)
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def upgrade_locked(url: str, revision: str = "head") -> UpgradeResult:
    """Apply migrations up to `revision` under the migration lock; safe for concurrent starters."""
    engine = make_engine(url)
    try:
        with migration_lock(engine, url):
            before = migration_status(engine).current
            after = _upgrade(url, revision)
    finally:
        engine.dispose()
    return UpgradeResult(before=before, after=after)
