"""Engines, migrations and the readiness gate."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.config.settings import shipped_dir
from app.core.errors import DatabaseNotReady
from app.store.db import (
    alembic_config,
    ensure_migrated,
    make_engine,
    migration_status,
    normalize_url,
    safe_url,
    upgrade,
)

ROOT = Path(__file__).resolve().parents[2]

HEAD_REVISION = "0005"  # the newest migration in migrations/versions


def test_urls_are_normalized_and_passwords_hidden() -> None:
    assert normalize_url("postgres://u:p@db/cs") == "postgresql+psycopg://u:p@db/cs"
    assert normalize_url("postgresql://u:p@db/cs") == "postgresql+psycopg://u:p@db/cs"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    assert "s3cr3t" not in safe_url("postgresql://countersign:s3cr3t@db:5432/cs")


def test_bad_urls_raise_database_not_ready() -> None:
    with pytest.raises(DatabaseNotReady, match="COUNTERSIGN_DATABASE_URL"):
        make_engine("not a url")
    with pytest.raises(DatabaseNotReady, match="unsupported"):
        make_engine("oracle+nodriver://u@h/db")


def test_unreachable_postgres_is_not_ready() -> None:
    engine = make_engine(
        "postgresql+psycopg://countersign:pw@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    with pytest.raises(DatabaseNotReady, match="cannot connect") as caught:
        ensure_migrated(engine)
    assert "pw@" not in str(caught.value)
    engine.dispose()


def test_ensure_migrated_names_the_command(db_url: str) -> None:
    engine = make_engine(db_url)
    status = migration_status(engine)
    assert (status.current, status.up_to_date) == (None, False)
    with pytest.raises(DatabaseNotReady, match="countersign db upgrade"):
        ensure_migrated(engine)
    assert upgrade(db_url).up_to_date
    assert ensure_migrated(engine).current == HEAD_REVISION
    engine.dispose()


def test_models_and_migrations_agree(db_engine: sa.Engine) -> None:
    with db_engine.begin() as conn:
        command.check(alembic_config(connection=conn))  # raises when autogenerate sees drift


def test_downgrade_and_upgrade_again(db_engine: sa.Engine, db_url: str) -> None:
    with db_engine.begin() as conn:
        command.downgrade(alembic_config(connection=conn), "base")
    with db_engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert tables <= {"alembic_version"}
    assert upgrade(db_url).current == HEAD_REVISION


def test_migrations_are_found_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert shipped_dir("migrations").is_dir()
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION
    # alembic.ini (repo root, and its copy in the wheel) resolves the folder next to itself.
    ini = Config(str(ROOT / "alembic.ini"))
    assert ScriptDirectory.from_config(ini).get_current_head() == HEAD_REVISION
    url = f"sqlite:///{tmp_path / 'other.db'}"
    assert upgrade(url).up_to_date
    assert os.path.exists(tmp_path / "other.db")


def test_sqlite_uses_wal_and_a_busy_timeout(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()
