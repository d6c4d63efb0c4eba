"""What one parsed SQL statement does: its class (`DROP_TABLE`, `ALTER_COLUMN_TYPE`, …), the object
it acts on, and the facts rules read (sqlglot's tree in, plain values out)."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

# Riskiest first: the class of an ALTER TABLE with several actions is its riskiest action.
ALTER_ACTIONS = (
    "DROP_COLUMN", "ALTER_COLUMN_TYPE", "RENAME_TABLE", "RENAME_COLUMN", "SET_NOT_NULL",
    "DROP_CONSTRAINT", "ADD_COLUMN",
)  # fmt: skip
_DROPS = {
    "TABLE": "DROP_TABLE",
    "SCHEMA": "DROP_SCHEMA",
    "DATABASE": "DROP_DATABASE",
    "INDEX": "DROP_INDEX",
}


def _name(node: Any) -> str | None:
    """`schema.table` of a Table/Schema/Identifier node, None for anything else."""
    if isinstance(node, exp.Schema):
        node = node.this
    if isinstance(node, exp.Table):
        return ".".join(part.name for part in node.parts) or None
    if isinstance(node, exp.Identifier | exp.Column):
        return node.name or None
    return None


def _names(nodes: Any) -> str | None:
    names = [n for n in (_name(x) for x in (nodes or [])) if n]
    return ", ".join(names) or None


def _alter(expr: exp.Alter) -> tuple[str, dict[str, Any]]:
    actions: list[str] = []
    columns: list[str] = []
    for action in expr.args.get("actions") or []:
        if isinstance(action, exp.Drop) and str(action.args.get("kind")).upper() == "COLUMN":
            actions.append("DROP_COLUMN")
            columns.extend(n for n in (_name(t) for t in action.args.get("tables") or []) if n)
        elif isinstance(action, exp.Drop) and str(action.args.get("kind")).upper() == "CONSTRAINT":
            actions.append("DROP_CONSTRAINT")
        elif isinstance(action, exp.AlterColumn) and action.args.get("dtype") is not None:
            actions.append("ALTER_COLUMN_TYPE")
            columns.append(action.name)
        elif isinstance(action, exp.AlterColumn) and action.args.get("allow_null") is False:
            actions.append("SET_NOT_NULL")
            columns.append(action.name)
        elif isinstance(action, exp.AlterRename):
            actions.append("RENAME_TABLE")
        elif isinstance(action, exp.RenameColumn):
            actions.append("RENAME_COLUMN")
            columns.append(_name(action.this) or "")
        elif isinstance(action, exp.ColumnDef):
            actions.append("ADD_COLUMN")
            columns.append(action.name)
        else:
            actions.append("ALTER_TABLE")
    kind = next((a for a in ALTER_ACTIONS if a in actions), "ALTER_TABLE")
    return kind, {"actions": actions, "columns": columns}


def classify(expr: exp.Expr) -> tuple[str, str | None, dict[str, Any]]:
    """(statement class, object name, extra facts) from the syntax tree."""
    kind = str(expr.args.get("kind") or "").upper()
    if isinstance(expr, exp.Drop):
        extra = {"drop_kind": kind, "cascade": bool(expr.args.get("cascade"))}
        return _DROPS.get(kind, "OTHER"), _names(expr.args.get("tables")), extra
    if isinstance(expr, exp.TruncateTable):
        return "TRUNCATE", _names(expr.expressions), {}
    if isinstance(expr, exp.Delete | exp.Update):
        verb = "DELETE" if isinstance(expr, exp.Delete) else "UPDATE"
        return verb, _name(expr.this), {"has_where": expr.args.get("where") is not None}
    if isinstance(expr, exp.Insert):
        return "INSERT", _name(expr.this), {}
    if isinstance(expr, exp.Alter) and kind == "TABLE":
        verb, changes = _alter(expr)
        return verb, _name(expr.this), changes
    if isinstance(expr, exp.Create) and kind == "TABLE":
        return "CREATE_TABLE", _name(expr.this), {}
    if isinstance(expr, exp.Create) and kind in ("FUNCTION", "PROCEDURE"):
        return f"CREATE_{kind}", _name(expr.this.this if expr.this else None), {}
    if isinstance(expr, exp.Create) and kind == "INDEX" and isinstance(expr.this, exp.Index):
        index = {
            "index": _name(expr.this.this),
            "unique": bool(expr.args.get("unique")),
            "concurrently": bool(expr.args.get("concurrently")),
        }
        return "CREATE_INDEX", _name(expr.this.args.get("table")), index
    if isinstance(expr, exp.Grant | exp.Revoke):
        verb = "GRANT" if isinstance(expr, exp.Grant) else "REVOKE"
        privileges = [p.sql() for p in expr.args.get("privileges") or []]
        grant: dict[str, Any] = {
            "privileges": privileges,
            "principals": [p.sql() for p in expr.args.get("principals") or []],
            "grant_all": any(p.upper().startswith("ALL") for p in privileges),
        }
        return verb, _name(expr.args.get("securable")), grant
    if isinstance(expr, exp.Command) and str(expr.this).upper() in ("GRANT", "REVOKE"):
        rest = expr.expression
        words = str(rest.name if isinstance(rest, exp.Expr) else rest or "").upper().split()
        return str(expr.this).upper(), None, {"grant_all": words[:1] == ["ALL"]}
    return "OTHER", None, {}
