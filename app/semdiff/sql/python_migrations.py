"""Python migrations (Alembic, Django) read as what they do to the database.

The file is parsed with `ast`, never matched with regexes: `op.drop_table("users")` inside
`upgrade()` is a DROP TABLE, `migrations.RemoveField(model_name="order", name="fax")` a DROP
COLUMN, and the SQL strings of `op.execute(…)` / `RunSQL(…)` are classified by the SQL analyzer.
Alembic's `downgrade()` runs only on a rollback, so its operations are reported for information
(`phase: downgrade`, `downgrade_statement`) and no rule reads them as destructive. A file that does
not parse as Python is unparseable (fail closed).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from app.core.errors import UnparseableError
from app.core.globs import gitignore_spec
from app.core.models import Change, FileDiff, Op
from app.core.text import decode_text
from app.semdiff.common.structure import unmatched_by_key

__all__ = ["analyze", "is_python_migration", "operations"]

Source = Literal["alembic", "django"]

ALEMBIC_PATHS = gitignore_spec(["**/alembic/versions/*.py", "**/migrations/versions/*.py"])
ALEMBIC_ANY_VERSIONS = gitignore_spec(["**/versions/*.py"])
"""Alembic's `script_location` is any folder (Netflix/dispatch: `database/revisions/tenant/`):
a `versions/*.py` elsewhere counts when it imports alembic and defines `upgrade()`."""
DJANGO_PATHS = gitignore_spec(["**/migrations/0*.py"])
MAX_CODE_FACT = 300
DYNAMIC = "dynamic_value"

# Alembic `op.<method>` -> statement class; the arguments decide the object (see `_alembic`).
ALEMBIC = {
    "drop_table": "DROP_TABLE", "drop_column": "DROP_COLUMN", "drop_index": "DROP_INDEX",
    "drop_constraint": "DROP_CONSTRAINT", "rename_table": "RENAME_TABLE",
    "create_table": "CREATE_TABLE", "add_column": "ADD_COLUMN", "create_index": "CREATE_INDEX",
    "bulk_insert": "INSERT", "create_foreign_key": "ALTER_TABLE",
    "create_unique_constraint": "ALTER_TABLE", "create_check_constraint": "ALTER_TABLE",
    "create_primary_key": "ALTER_TABLE", "alter_column": "ALTER_TABLE",
}  # fmt: skip
# Django operation -> (statement class, positional parameter names).
DJANGO: dict[str, tuple[str, tuple[str, ...]]] = {
    "CreateModel": ("CREATE_TABLE", ("name", "fields")),
    "DeleteModel": ("DROP_TABLE", ("name",)),
    "RenameModel": ("RENAME_TABLE", ("old_name", "new_name")),
    "AddField": ("ADD_COLUMN", ("model_name", "name", "field")),
    "RemoveField": ("DROP_COLUMN", ("model_name", "name")),
    "AlterField": ("ALTER_COLUMN", ("model_name", "name", "field")),
    "RenameField": ("RENAME_COLUMN", ("model_name", "old_name", "new_name")),
    "AddIndex": ("CREATE_INDEX", ("model_name", "index")),
    "RemoveIndex": ("DROP_INDEX", ("model_name", "name")),
    "AddConstraint": ("ALTER_TABLE", ("model_name", "constraint")),
    "RemoveConstraint": ("DROP_CONSTRAINT", ("model_name", "name")),
    "AlterModelTable": ("RENAME_TABLE", ("name", "table")),
    "RunSQL": ("OTHER", ("sql", "reverse_sql")),
    "RunPython": ("RUN_PYTHON", ("code", "reverse_code")),
}


def is_python_migration(path: str, sample: bytes | None) -> bool:
    """Alembic by path (or any `versions/` folder, with an alembic import and `upgrade()`); Django
    by path and a `django.db` import in the content."""
    if not path.endswith(".py"):
        return False
    if ALEMBIC_PATHS.match_file(path):
        return True
    if ALEMBIC_ANY_VERSIONS.match_file(path) and sample is not None:
        if b"from alembic import" in sample and b"def upgrade(" in sample:
            return True
    return DJANGO_PATHS.match_file(path) and sample is not None and b"django.db" in sample


@dataclass(frozen=True)
class Operation:
    """One migration operation: how it is matched across sides and the changes it makes."""

    key: str
    line: int
    build: Callable[[str, Op], list[Change]]


def _text(node: ast.AST | None) -> str | None:
    """A constant string as is, any other expression as its source text."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and _called(node) == "f" and len(node.args) == 1:
        return _text(node.args[0])  # `op.f("ix_name")` is the name as given
    return ast.unparse(node)


def _arguments(call: ast.Call, names: tuple[str, ...]) -> dict[str, ast.AST]:
    args: dict[str, ast.AST] = dict(zip(names, call.args, strict=False))
    args.update({k.arg: k.value for k in call.keywords if k.arg})
    return args


def _sql_strings(node: ast.AST | None) -> list[ast.Constant] | None:
    """String constants holding SQL (`"…"`, `sa.text("…")`, lists of them); None if computed."""
    if node is None:
        return []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if isinstance(node, ast.JoinedStr):  # f"TRUNCATE {table}": the text around the values
        text = "".join(
            str(v.value) if isinstance(v, ast.Constant) else f" {DYNAMIC} " for v in node.values
        )
        return [ast.copy_location(ast.Constant(text), node)]
    if isinstance(node, ast.Call) and node.args and _called(node) in ("text", "literal_column"):
        return _sql_strings(node.args[0])
    if isinstance(node, ast.List | ast.Tuple):
        out: list[ast.Constant] = []
        for item in node.elts:
            found = _sql_strings(item.elts[0] if isinstance(item, ast.Tuple) else item)
            if found is None:
                return None
            out.extend(found)
        return out
    return None


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


class _Reader:
    def __init__(self, path: str, source: Source) -> None:
        self.path = path
        self.source = source

    def operation(
        self, call: ast.Call, phase: str, label: str, obj: str | None, extra: dict[str, Any]
    ) -> Operation:
        name = f"{ast.unparse(call.func)}"
        code = ast.unparse(call)
        facts = {
            "source": self.source,
            "operation": name,
            "code": code if len(code) <= MAX_CODE_FACT else code[: MAX_CODE_FACT - 1] + "…",
            "phase": phase,
            **extra,
        }
        strings = _sql_strings(extra.pop("_sql", None)) if "_sql" in extra else []
        facts.pop("_sql", None)
        key = f"{phase}:{code}"

        def build(path: str, op: Op) -> list[Change]:
            if strings is None:  # SQL built at run time: nothing to classify, say so
                return [
                    self._change(path, call, phase, "OTHER", None, {**facts, "dynamic": True}, op)
                ]
            if strings:
                return self._sql_changes(path, strings, phase, facts, op)
            return [self._change(path, call, phase, label, obj, facts, op)]

        return Operation(key, call.lineno, build)

    def _sql_changes(
        self, path: str, strings: list[ast.Constant], phase: str, facts: dict[str, Any], op: Op
    ) -> list[Change]:
        from app.semdiff.sql import (
            analyzer as sql,  # sqlglot loads only when a migration holds SQL
        )

        out: list[Change] = []
        for node in strings:
            for statement in sql.statements_of(str(node.value), path, line_offset=node.lineno - 1):
                for change in sql.changes_of(path, statement, op):
                    merged = {
                        **change.facts,
                        **{k: facts[k] for k in ("source", "operation", "phase")},
                    }
                    if DYNAMIC in str(node.value):
                        merged["dynamic"] = True
                    out.append(_phase(change.model_copy(update={"facts": merged}), phase))
        return out

    def _change(
        self,
        path: str,
        call: ast.Call,
        phase: str,
        label: str,
        obj: str | None,
        facts: dict[str, Any],
        op: Op,
    ) -> Change:
        columns = facts.get("columns") or []
        target = ".".join(x for x in (obj, *columns) if x) or "?"
        named = facts.get("index") or facts.get("constraint")
        target = f"{target} {named}" if named else target
        change = Change(
            file=path,
            kind="sql",
            address=f"{facts['operation']} {target}",
            op=op,
            facts={"statement": label, "object": obj, "line": call.lineno, **facts},
            line=call.lineno,
        )
        return _phase(change, phase)


def _phase(change: Change, phase: str) -> Change:
    """Operations of `downgrade()` are information: their class moves out of `statement`."""
    if phase != "downgrade":
        return change
    facts = dict(change.facts)
    facts["downgrade_statement"] = facts.pop("statement", None)
    return change.model_copy(update={"facts": facts})


def _alembic_calls(body: list[ast.stmt]) -> Iterator[tuple[ast.Call, str | None]]:
    """Every `op.x(…)` call (and `batch_op.x(…)` inside `batch_alter_table`), with its table."""
    tables: dict[str, str | None] = {"op": None}

    def visit(node: ast.AST) -> Iterator[tuple[ast.Call, str | None]]:
        if isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                ctx = item.context_expr
                if isinstance(ctx, ast.Call) and _called(ctx) == "batch_alter_table":
                    yield ctx, None
                    if isinstance(item.optional_vars, ast.Name):
                        table = _text(ctx.args[0]) if ctx.args else None
                        tables[item.optional_vars.id] = table
            for inner in node.body:
                yield from visit(inner)
            return
        if isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id in tables
            ):
                if func.attr != "f":  # `op.f("ix_name")` only names things
                    yield node, tables[func.value.id]
                return  # calls inside an operation's arguments are part of it
        for child in ast.iter_child_nodes(node):
            yield from visit(child)

    for statement in body:
        yield from visit(statement)


def _alembic(reader: _Reader, tree: ast.Module) -> list[Operation]:
    out: list[Operation] = []
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef) or function.name not in (
            "upgrade", "downgrade",
        ):  # fmt: skip
            continue
        for call, batch_table in _alembic_calls(function.body):
            method = _called(call)
            if method == "batch_alter_table":
                continue
            out.append(
                reader.operation(call, function.name, *_alembic_op(method, call, batch_table))
            )
    return out


def _alembic_op(
    method: str, call: ast.Call, batch_table: str | None
) -> tuple[str, str | None, dict[str, Any]]:
    args = list(call.args)
    if batch_table is not None:  # batch_op calls leave out the table name
        args.insert(0, ast.Constant(batch_table))
    kw = {k.arg: k.value for k in call.keywords if k.arg}
    first = _text(args[0]) if args else None
    second = _text(args[1]) if len(args) > 1 else None
    if method == "execute":
        return "OTHER", None, {"_sql": args[0] if args else kw.get("sqltext")}
    label = ALEMBIC.get(method, "OTHER")
    if method in ("drop_column",):
        return label, first, {"columns": [second or _text(kw.get("column_name")) or "?"]}
    if method == "add_column" and len(args) > 1 and isinstance(args[1], ast.Call):
        column = _text(args[1].args[0]) if args[1].args else None
        return label, first, {"columns": [column] if column else []}
    if method in ("drop_index", "create_index"):
        table = second if method == "create_index" else _text(kw.get("table_name"))
        return label, table or batch_table, {"index": first}
    if method == "drop_constraint":
        table = second or _text(kw.get("table_name"))
        return label, table, {"constraint": first, "constraint_type": _text(kw.get("type_"))}
    if method == "rename_table":
        return label, first, {"new_name": second}
    if method == "alter_column":
        facts: dict[str, Any] = {"columns": [second] if second else []}
        if "type_" in kw:
            return "ALTER_COLUMN_TYPE", first, {**facts, "new_type": _text(kw["type_"])}
        if "new_column_name" in kw:
            return "RENAME_COLUMN", first, {**facts, "new_name": _text(kw["new_column_name"])}
        nullable = kw.get("nullable")
        if isinstance(nullable, ast.Constant) and nullable.value is False:
            return "SET_NOT_NULL", first, facts
        return "ALTER_TABLE", first, facts
    return label, first, {}


def _django(reader: _Reader, tree: ast.Module) -> list[Operation]:
    out: list[Operation] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for statement in node.body:
            if (
                isinstance(statement, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "operations" for t in statement.targets)
                and isinstance(statement.value, ast.List | ast.Tuple)
            ):
                out.extend(_django_ops(reader, statement.value.elts))
    return out


def _django_ops(reader: _Reader, items: list[ast.expr]) -> list[Operation]:
    out: list[Operation] = []
    for item in items:
        if not isinstance(item, ast.Call):
            continue
        name = _called(item)
        label, params = DJANGO.get(name, ("OTHER", ()))
        args = _arguments(item, params)
        if name == "SeparateDatabaseAndState":
            ops = args.get("database_operations")
            if isinstance(ops, ast.List | ast.Tuple):
                out.extend(_django_ops(reader, ops.elts))
            continue
        model = _text(args.get("model_name") or args.get("name") or args.get("old_name"))
        extra: dict[str, Any] = {}
        if name == "RunSQL":
            extra["_sql"] = args.get("sql")
        elif name == "RunPython":
            model = _text(args.get("code"))
        elif "model_name" in args:
            field = _text(args.get("name") or args.get("old_name"))
            extra["columns"] = [field] if field else []
        if name in ("RenameModel", "RenameField"):
            extra["new_name"] = _text(args.get("new_name"))
        out.append(reader.operation(item, "upgrade", label, model, extra))
    return out


def operations(data: bytes, path: str) -> list[Operation]:
    """The operations of one side of a migration file, in file order."""
    text = decode_text(data, path)
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        raise UnparseableError(
            f"Python syntax error: {exc.msg}",
            file=path,
            line=exc.lineno,
            hint="the migration must be valid Python to be reviewed",
        ) from exc
    if ALEMBIC_PATHS.match_file(path) or "alembic" in text:
        return _alembic(_Reader(path, "alembic"), tree)
    return _django(_Reader(path, "django"), tree)


def analyze(file: FileDiff) -> list[Change]:
    """Operations added (create) and removed (delete), matched by their code."""
    base = [] if file.base is None else operations(file.base, file.old_path or file.path)
    head = [] if file.head is None else operations(file.head, file.path)
    added, removed = unmatched_by_key(base, head, lambda o: o.key)
    out = [c for o in added for c in o.build(file.path, "create")]
    out += [c for o in reversed(removed) for c in o.build(file.path, "delete")]
    from app.semdiff.sql import analyzer as sql

    return sql.dedupe_addresses(out)
