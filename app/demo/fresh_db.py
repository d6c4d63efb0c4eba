"""A freshly migrated database on demand, in milliseconds rather than an Alembic run.

`LocalStack.reset` uses it so that each end-to-end test starts on an empty database while the
servers keep running. SQLite: the first call migrates a template file next to the stack's
database; each call copies it (the SQLite backup API, so WAL content is included) to a new file
and returns its URL. PostgreSQL: every table is emptied (`TRUNCATE … RESTART IDENTITY`, with the
append-only triggers disabled for that one transaction) and the rows the migrations seeded (the
audit chain head, the Alembic version) are written back, so the schema is as `upgrade` left it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.store.db import make_engine, normalize_url, upgrade


class Databases:
    """Fresh databases for one stack whose database URL starts as `url`."""

    def __init__(self, url: str) -> None:
        self.url = make_url(normalize_url(url))
        self._count = 0
        self._template: Path | None = None
        self._seed: dict[str, list[dict[str, Any]]] | None = None

    @property
    def _sqlite_file(self) -> Path | None:
        name = self.url.database
        if self.url.get_backend_name() != "sqlite" or not name or name == ":memory:":
            return None
        return Path(name)

    def remember_seed(self) -> None:
        """Read the rows a just-migrated PostgreSQL database holds (what a reset writes back)."""
        if self.url.get_backend_name() != "postgresql":
            return
        engine = make_engine(self._render(), poolclass=sa.NullPool)
        try:
            with engine.connect() as conn:
                meta = sa.MetaData()
                meta.reflect(conn)
                self._seed = {
                    name: [dict(row._mapping) for row in conn.execute(sa.select(table))]
                    for name, table in meta.tables.items()
                }
        finally:
            engine.dispose()

    def fresh(self, engine: sa.Engine) -> str:
        """The URL of a freshly migrated database (call with no connection in use)."""
        path = self._sqlite_file
        if path is not None:
            return self._copy_template(path)
        if self.url.get_backend_name() == "postgresql":
            self._empty_postgres(engine)
            return self._render()
        raise ValueError(f"cannot reset a {self.url.get_backend_name()} database")

    def _render(self, database: str | None = None) -> str:
        url = self.url if database is None else self.url.set(database=database)
        return url.render_as_string(hide_password=False)

    def _copy_template(self, path: Path) -> str:
        if self._template is None:
            template = path.with_name(f"{path.stem}.template{path.suffix}")
            template.unlink(missing_ok=True)
            upgrade(self._render(str(template)))
            self._template = template
        self._count += 1
        target = path.with_name(f"{path.stem}.{self._count}{path.suffix}")
        source, copy = sqlite3.connect(self._template), sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()
        return self._render(str(target))

    def _empty_postgres(self, engine: sa.Engine) -> None:
        if self._seed is None:
            raise RuntimeError("reset needs a stack that migrated its own database (migrate=True)")
        with engine.begin() as conn:
            meta = sa.MetaData()
            meta.reflect(conn)
            names = [n for n in meta.tables if n != "alembic_version"]
            quoted = ", ".join(f'"{n}"' for n in names)
            for name in names:
                conn.exec_driver_sql(f'ALTER TABLE "{name}" DISABLE TRIGGER USER')
            conn.exec_driver_sql(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
            for table in meta.sorted_tables:
                rows = self._seed.get(table.name)
                if rows and table.name != "alembic_version":
                    conn.execute(table.insert(), rows)
            for name in names:
                conn.exec_driver_sql(f'ALTER TABLE "{name}" ENABLE TRIGGER USER')
        engine.dispose()
