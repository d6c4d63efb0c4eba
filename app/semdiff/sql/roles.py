"""What a SQL migration file's statements are for: rollback steps and table rebuilds.

- A down migration (`…down.sql`, `…_down.sql`, `down/…sql`) runs only when an operator rolls
  back, as Alembic's `downgrade()` does: its statements are listed for information
  (`phase: downgrade`, `downgrade_statement` in place of `statement`), so `.down.sql` files of a
  migration that adds a column do not read as dropping it (#24, ory/kratos).
- SQLite cannot alter most of a table, so migrations rebuild it: rename (or create) a copy,
  `INSERT INTO new SELECT … FROM old`, `DROP TABLE old`. A dropped table whose rows the same file
  copied first is a rebuild (`facts.rows_copied_to`), which `sql.table-rebuild` reports instead
  of `sql.destructive`; renaming t away first and refilling t from the copy keeps t where it
  was (`facts.rebuilt_in_place` on the rename, which `sql.breaking-ddl` skips).
- A statement added to a migration file that already existed (an old Alembic revision edited)
  does not run where that migration was applied, only on new databases: `migration_edited`,
  read by `sql.migration-edited` (medium) in place of the data-loss rules (#24, redash).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from app.core.models import Change

if TYPE_CHECKING:
    from app.semdiff.sql.analyzer import Statement

__all__ = [
    "as_rollback",
    "copied_tables",
    "is_down_migration",
    "mark_edited",
    "mark_rebuilds",
]

_DOWN = re.compile(r"(^|[._-])down(\.[a-z0-9]+)*\.sql$", re.IGNORECASE)


def is_down_migration(path: str) -> bool:
    """`0001_x.down.sql`, `x.mysql.down.sql`, `x_down.sql`, `down.sql`, `down/0001_x.sql`."""
    name = posixpath.basename(path)
    parts = path.lower().split("/")
    return bool(_DOWN.search(name)) or "down" in parts[:-1]


def as_rollback(changes: Sequence[Change]) -> list[Change]:
    """The changes of a down migration as rollback steps (judged by `sql.downgrade`)."""
    out: list[Change] = []
    for change in changes:
        facts: dict[str, Any] = dict(change.facts)
        if "statement" in facts:
            facts["downgrade_statement"] = facts.pop("statement")
        facts["phase"] = "downgrade"
        out.append(change.model_copy(update={"facts": facts}))
    return out


def _table(node: Any) -> str | None:
    if isinstance(node, exp.Schema):
        node = node.this
    if isinstance(node, exp.Table):
        return node.name.lower() or None
    return None


def copied_tables(statements: Sequence[Statement]) -> dict[str, tuple[str, int]]:
    """{table: (copy, line)} for each `INSERT INTO copy SELECT … FROM table` of the file that
    copies every row (no WHERE, LIMIT, GROUP BY, DISTINCT)."""
    out: dict[str, tuple[str, int]] = {}
    for statement in statements:
        expr = statement.expr
        if not isinstance(expr, exp.Insert) or not isinstance(expr.expression, exp.Select):
            continue
        select = expr.expression
        if any(select.args.get(k) for k in ("where", "limit", "group", "having", "distinct")):
            continue  # only some rows are copied: dropping the source loses the rest
        target = _table(expr.this)
        for source in expr.expression.find_all(exp.Table):
            name = _table(source)
            if name and target and name != target:
                out.setdefault(name, (target, statement.line))
    return out


def mark_rebuilds(changes: Sequence[Change], statements: Sequence[Statement]) -> list[Change]:
    """A `DROP TABLE t` after the file copied t's rows elsewhere carries `rows_copied_to`."""
    copied = copied_tables(statements)
    if not copied:
        return list(changes)
    refilled = dict(copied.values())
    out: list[Change] = []
    for change in changes:
        obj = str(change.facts.get("object") or "").lower().rsplit(".", 1)[-1]
        copy = copied.get(obj)
        if (
            change.op == "create"
            and change.facts.get("statement") == "RENAME_TABLE"
            and refilled.get(obj, 0) > (change.line or 0)
        ):
            # `ALTER TABLE t RENAME TO t_old`, then t re-created and refilled from t_old: the
            # table keeps its name and rows, no reader breaks (ory/kratos 951cf3cac5).
            change = change.model_copy(update={"facts": {**change.facts, "rebuilt_in_place": True}})
        if (
            change.op == "create"
            and change.facts.get("statement") == "DROP_TABLE"
            and copy is not None
            and copy[1] < (change.line or 0)
        ):
            facts = {**change.facts, "rows_copied_to": copy[0]}
            change = change.model_copy(update={"facts": facts})
        out.append(change)
    return out


def _migration(path: str) -> bool:
    lowered = path.lower()
    return "migrat" in lowered or "/versions/" in lowered


def mark_edited(changes: Sequence[Change], existed: bool, path: str) -> list[Change]:
    """Changes of a migration file that existed before carry `migration_edited: true`."""
    if not existed or not _migration(path):
        return list(changes)
    return [c.model_copy(update={"facts": {**c.facts, "migration_edited": True}}) for c in changes]
