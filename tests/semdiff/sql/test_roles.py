"""Rollback files, SQLite table rebuilds and edited old migrations are not data-loss alarms (#24).

Faithful re-creations, trimmed, of ory/kratos migrations (Apache-2.0): 8c631e5e40 (a new
column's `.down.sql`), 951cf3cac5 (SQLite's rebuild of identity_verification_tokens; MySQL
`GENERATED ALWAYS AS … VIRTUAL`), and of getredash/redash 4114227471 (BSD-2-Clause: an old
Alembic revision edited).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.risk import evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files
from app.semdiff.sql.roles import is_down_migration

PACK = load_rule_pack(Path(__file__).resolve().parents[3] / "risk_rules")
DIR = "persistence/sql/migrations/sql"


def findings(files: list[FileDiff]) -> set[tuple[str, str]]:
    changes: list[Change] = analyze_files(files, RepoConfig())
    assert not [c for c in changes if c.unparseable], [c.unparseable for c in changes]
    return {(f.rule, f.severity) for f in evaluate_rules(PACK, changes, is_agent=True, author="x")}


@pytest.mark.parametrize(
    ("path", "down"),
    [
        (f"{DIR}/20260327101213000000_add_break_glass.down.sql", True),
        (f"{DIR}/20260327101213000000_add_break_glass.mysql.down.sql", True),
        ("db/migrate/0003_drop_fax_down.sql", True),
        ("migrations/down/0003_drop_fax.sql", True),
        (f"{DIR}/20260327101213000000_add_break_glass.up.sql", False),
        ("migrations/0004_countdown.sql", False),
        ("migrations/0005_shutdown_jobs.sql", False),
    ],
)
def test_down_migrations_by_name(path: str, down: bool) -> None:
    assert is_down_migration(path) is down


def test_the_down_file_of_a_new_column_is_a_rollback_step() -> None:
    up = FileDiff(
        path=f"{DIR}/20260327101213000000_add_break_glass.up.sql",
        base=None,
        head=b"ALTER TABLE identity_recovery_addresses ADD COLUMN break_glass UUID NULL;\n",
    )
    down = FileDiff(
        path=f"{DIR}/20260327101213000000_add_break_glass.down.sql",
        base=None,
        head=b"ALTER TABLE identity_recovery_addresses DROP COLUMN break_glass;\n",
    )
    found = findings([up, down])
    assert ("sql.breaking-ddl", "high") not in found
    assert ("sql.downgrade", "info") in found
    # The same DROP COLUMN in an up migration is still high.
    drop = FileDiff(path=f"{DIR}/20260401_drop.up.sql", base=None, head=down.head)
    assert ("sql.breaking-ddl", "high") in findings([drop])


REBUILD = b"""ALTER TABLE identity_verification_tokens RENAME TO _identity_verification_tokens_old;
CREATE TABLE identity_verification_tokens (id TEXT PRIMARY KEY, token TEXT NOT NULL, address_id TEXT NULL);
INSERT INTO identity_verification_tokens (id, token, address_id)
  SELECT id, token, address_id FROM _identity_verification_tokens_old;
DROP TABLE _identity_verification_tokens_old;
"""


def test_a_sqlite_table_rebuild_is_not_destructive() -> None:
    path = f"{DIR}/20260413000000000000_make_address_nullable.sqlite3.up.sql"
    found = findings([FileDiff(path=path, base=None, head=REBUILD)])
    assert ("sql.destructive", "critical") not in found
    assert ("sql.table-rebuild", "medium") in found
    # Without the copy the drop loses the rows: still critical.
    lossy = REBUILD.replace(b"INSERT INTO", b"-- INSERT INTO").replace(
        b"  SELECT id", b"--  SELECT id"
    )
    assert ("sql.destructive", "critical") in findings([FileDiff(path=path, base=None, head=lossy)])


def test_a_mysql_file_is_read_as_mysql() -> None:
    head = b"""CREATE TABLE identity_pending_traits_changes (
    id CHAR(36) NOT NULL PRIMARY KEY,
    status VARCHAR(16) NOT NULL DEFAULT 'pending',
    pending_identity_key CHAR(36) GENERATED ALWAYS AS (
        CASE WHEN status = 'pending' THEN id ELSE NULL END
    ) VIRTUAL
) ENGINE=InnoDB;
"""
    path = f"{DIR}/20260408000000000000_create_pending_traits_changes.mysql.up.sql"
    assert ("sql.additive-ddl", "low") in findings([FileDiff(path=path, base=None, head=head)])


ALEMBIC = '''"""change type of json fields"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "7205816877ec"
down_revision = "7ce5925f832b"


def upgrade():
    op.alter_column(
        "alerts", "options", type_=postgresql.JSONB(astext_type=sa.Text()), nullable=True,%s
    )
'''


def test_a_type_change_in_an_old_alembic_revision_is_an_edit_not_a_break() -> None:
    path = "migrations/versions/7205816877ec_change_type_of_json_fields_from_varchar_.py"
    old = ALEMBIC % '\n        postgresql_using="options::jsonb", server_default="{}",'
    edited = FileDiff(path=path, base=old.encode(), head=(ALEMBIC % "").encode())
    found = findings([edited])
    assert ("sql.breaking-ddl", "high") not in found
    assert ("sql.migration-edited", "medium") in found
    new = FileDiff(path=path, base=None, head=(ALEMBIC % "").encode())
    assert ("sql.breaking-ddl", "high") in findings([new])


def test_a_partial_copy_does_not_make_a_rebuild() -> None:
    partial = REBUILD.replace(
        b"FROM _identity_verification_tokens_old;\n",
        b"FROM _identity_verification_tokens_old WHERE address_id IS NOT NULL;\n",
    )
    assert partial != REBUILD
    path = f"{DIR}/20260413000000000000_make_address_nullable.sqlite3.up.sql"
    found = findings([FileDiff(path=path, base=None, head=partial)])
    assert ("sql.destructive", "critical") in found


def test_renaming_a_table_away_to_refill_it_breaks_no_reader() -> None:
    # ory/kratos 951cf3cac5: the rename is the first step of the rebuild, the table comes back
    # under its name with every row.
    path = f"{DIR}/20260413000000000000_make_address_nullable.sqlite3.up.sql"
    assert ("sql.breaking-ddl", "high") not in findings([FileDiff(path=path, head=REBUILD)])
    # Renamed away and never refilled: readers of the old name break.
    gone = REBUILD.split(b"CREATE TABLE")[0]
    assert ("sql.breaking-ddl", "high") in findings([FileDiff(path=path, head=gone)])
