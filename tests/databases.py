"""Migrated databases for tests in milliseconds: migrate once per session, then copy.

An Alembic run to head costs a tenth of a second or more on SQLite and about a second on a busy
PostgreSQL, and `db_engine` wants one per test. The copies are what `upgrade` leaves, byte for
byte on SQLite (the backup API, WAL content included) and statement for statement on PostgreSQL
(`pg_dump` of a migrated schema: tables, indexes, constraints, triggers, functions, sequences and
the seeded rows such as the Alembic version and the audit chain head).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path
from urllib.parse import unquote

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.demo.loadkit import temporary_schema
from app.store.db import make_engine, upgrade

PLACEHOLDER = "countersign_schema_placeholder"


def new_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL whose database does not exist yet, else None."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(str(parsed.database))
    return None if path.exists() else path


def copy_sqlite(source: Path, target: Path) -> None:
    """`source` copied to `target` with SQLite's backup API."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def schema_of(url: str) -> str | None:
    """The schema a PostgreSQL test URL's search_path names (tests/conftest.py `pg_url`)."""
    options = unquote(str(make_url(url).query.get("options", "")))
    prefix = "-csearch_path="
    return options[len(prefix) :] if options.startswith(prefix) else None


def dump_migrated_postgres(base_url: str) -> str | None:
    """SQL that rebuilds a schema migrated to head, with PLACEHOLDER for its name; None when
    there is no `pg_dump` (the caller migrates with Alembic then)."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return None
    with temporary_schema(base_url, prefix=f"template_{uuid.uuid4().hex[:6]}") as url:
        upgrade(url)
        schema = schema_of(url)
        assert schema is not None
        parsed = make_url(url)
        env = {**os.environ, "PGPASSWORD": parsed.password or ""}
        args = ["--no-owner", "--no-privileges", "--inserts", "--schema", schema]
        target = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432)]
        target += ["-U", parsed.username or "", str(parsed.database)]
        dumped = subprocess.run(
            [pg_dump, *args, *target], capture_output=True, text=True, env=env, timeout=120
        )
    if dumped.returncode != 0:
        raise RuntimeError(f"pg_dump of the migrated template failed: {dumped.stderr}")
    statements = [
        line
        for line in dumped.stdout.splitlines()
        if not line.startswith("\\") and line != f"CREATE SCHEMA {schema};"
    ]
    return "\n".join(statements).replace(schema, PLACEHOLDER)


def restore_postgres(url: str, sql: str) -> None:
    """Build the migrated schema in the (empty) schema `url` points at."""
    schema = schema_of(url)
    if schema is None:
        raise ValueError(f"{url!r} names no schema in its search_path")
    engine = make_engine(url, poolclass=sa.NullPool)
    try:
        with engine.begin() as conn:  # psycopg runs a script in one round trip without params
            conn.connection.driver_connection.execute(sql.replace(PLACEHOLDER, schema))
    finally:
        engine.dispose()
