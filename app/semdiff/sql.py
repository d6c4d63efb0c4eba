"""The SQL migration analyzer: which statements a `.sql` file adds or removes, classified from
sqlglot's syntax tree (DROP TABLE, DELETE without WHERE, ALTER COLUMN TYPE…) for the risk rules.

Statements are split on the tokenizer's semicolons (so `$$ … ; … $$` bodies stay whole and each
statement keeps its own line) and matched across sides by their normalized SQL, so comments,
whitespace and keyword case are no change. Classification never uses regexes on the text: a
commented-out `-- DROP TABLE users` must not count, and `DELETE … WHERE` spread over lines must.
String literals are redacted from the `sql` fact of any statement that mentions a secret-named
word (`PASSWORD '…'`, `api_token`), because migrations do create roles with passwords.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

from app.errors import UnparseableError
from app.models import REDACTED, Change, FileDiff, Op
from app.redact import is_secret_name
from app.repo_config import PathRule
from app.semdiff.documents import decode_text

__all__ = ["Statement", "analyze", "classify", "statements"]

DIALECTS: tuple[str, ...] = ("postgres", "")  # "" is sqlglot's generic dialect
MAX_SQL_FACT = 500
_ALTER_ACTIONS = ("DROP_COLUMN", "ALTER_COLUMN_TYPE", "ADD_COLUMN")  # riskiest first
_DROPS = {
    "TABLE": "DROP_TABLE",
    "SCHEMA": "DROP_SCHEMA",
    "DATABASE": "DROP_DATABASE",
    "INDEX": "DROP_INDEX",
}
_SECRET_WORDS = {"PASSWORD", "IDENTIFIED", "SECRET", "ENCRYPTED"}


@dataclass(frozen=True)
class Statement:
    """One parsed statement: its tree, normalized SQL, 1-based start line and position."""

    expr: exp.Expr
    sql: str
    line: int
    ordinal: int
    dialect: str
    secret: bool


def _split(text: str, source: str) -> list[list[Token]]:
    """Token runs between top-level semicolons (comments are not tokens, so they vanish)."""
    dialect = Dialect.get_or_raise("postgres")
    tokenizer = dialect.tokenizer_class(dialect=dialect)
    try:
        tokens = tokenizer.tokenize(text)
    except TokenError as exc:
        last = tokenizer.tokens[-1].line if tokenizer.tokens else 1
        raise UnparseableError(
            f"cannot tokenize SQL near line {last}: {str(exc).splitlines()[0][:120]}",
            file=source,
            line=last,
            hint="check for an unterminated string, quoted identifier or comment",
        ) from exc
    chunks: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            chunks.append([])
        else:
            chunks[-1].append(token)
    return [c for c in chunks if c]


def _parse_one(text: str, line: int, source: str) -> tuple[exp.Expr, str]:
    """Parse one statement with the first dialect that accepts it (postgres, then generic)."""
    first: ParseError | None = None
    for dialect in DIALECTS:
        try:
            parsed = sqlglot.parse(text, read=dialect or None, error_level=ErrorLevel.RAISE)
        except ParseError as exc:
            first = first or exc
            continue
        found = [e for e in parsed if e is not None]
        if len(found) == 1:
            return found[0], dialect
    detail = first.errors[0] if first is not None and first.errors else {}
    where = line + int(detail.get("line") or 1) - 1
    reason = str(detail.get("description") or "not a single SQL statement")
    reason = reason.split(" but got <Token")[0]  # sqlglot's token dump helps nobody
    raise UnparseableError(
        f"SQL statement starting at line {line} cannot be parsed: {reason[:200]}",
        file=source,
        line=where,
        hint="sqlglot parses PostgreSQL and ANSI SQL; split vendor-specific scripts out",
    )


def statements(data: bytes, source: str) -> list[Statement]:
    """Every statement of one side, in file order."""
    text = decode_text(data, source)
    out: list[Statement] = []
    for ordinal, chunk in enumerate(_split(text, source), start=1):
        line = chunk[0].line
        body = text[chunk[0].start : chunk[-1].end + 1]
        expr, dialect = _parse_one(body, line, source)
        normalized = expr.sql(dialect=dialect or None, comments=False)
        secret = any(t.text.upper() in _SECRET_WORDS or is_secret_name(t.text) for t in chunk)
        out.append(Statement(expr, normalized, line, ordinal, dialect, secret))
    return out


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
        elif isinstance(action, exp.AlterColumn) and action.args.get("dtype") is not None:
            actions.append("ALTER_COLUMN_TYPE")
            columns.append(action.name)
        elif isinstance(action, exp.ColumnDef):
            actions.append("ADD_COLUMN")
            columns.append(action.name)
        else:
            actions.append("ALTER_TABLE")
    kind = next((a for a in _ALTER_ACTIONS if a in actions), "ALTER_TABLE")
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
    if isinstance(expr, exp.Create) and kind == "INDEX" and isinstance(expr.this, exp.Index):
        index = {
            "index": _name(expr.this.this),
            "unique": bool(expr.args.get("unique")),
            "concurrently": bool(expr.args.get("concurrently")),
        }
        return "CREATE_INDEX", _name(expr.this.args.get("table")), index
    if isinstance(expr, exp.Grant | exp.Revoke):
        verb = "GRANT" if isinstance(expr, exp.Grant) else "REVOKE"
        grant = {
            "privileges": [p.sql() for p in expr.args.get("privileges") or []],
            "principals": [p.sql() for p in expr.args.get("principals") or []],
        }
        return verb, _name(expr.args.get("securable")), grant
    if isinstance(expr, exp.Command) and str(expr.this).upper() in ("GRANT", "REVOKE"):
        return str(expr.this).upper(), None, {}
    return "OTHER", None, {}


def _shown_sql(statement: Statement) -> str:
    """Normalized SQL for people, literals redacted when the statement mentions a secret."""
    expr = statement.expr
    if statement.secret:
        expr = expr.transform(
            lambda n: (
                exp.Literal.string(REDACTED) if isinstance(n, exp.Literal) and n.is_string else n
            )
        )
        if isinstance(expr, exp.Command):
            return f"{expr.this} {REDACTED}"
    text = expr.sql(dialect=statement.dialect or None, comments=False)
    return text if len(text) <= MAX_SQL_FACT else text[: MAX_SQL_FACT - 1] + "…"


def _change(path: str, statement: Statement, op: Op) -> Change:
    label, obj, extra = classify(statement.expr)
    if label == "OTHER" or not (obj or extra.get("index")):
        address = f"{path}#{statement.ordinal}"
    elif label in ("CREATE_INDEX", "DROP_INDEX"):
        address = f"{label.replace('_', ' ')} {extra.get('index') or obj}"
    elif label in _ALTER_ACTIONS:
        verb = {"DROP_COLUMN": "DROP COLUMN", "ADD_COLUMN": "ADD COLUMN"}.get(label, "ALTER COLUMN")
        address = f"ALTER TABLE {obj} {verb} {', '.join(extra.get('columns') or [])}".rstrip()
    elif label == "ALTER_TABLE":
        address = f"ALTER TABLE {obj}"
    else:
        address = f"{label.replace('_', ' ')} {obj}"
    if label == "DROP_INDEX":
        extra["index"] = obj
    facts: dict[str, Any] = {
        "statement": label,
        "object": obj,
        "sql": _shown_sql(statement),
        "line": statement.line,
        **extra,
    }
    return Change(file=path, kind="sql", address=address, op=op, facts=facts, line=statement.line)


def analyze(file: FileDiff, rule: PathRule) -> list[Change]:
    """Statements added (create) and removed (delete), matched by normalized SQL."""
    del rule  # SQL needs no per-path settings
    base = [] if file.base is None else statements(file.base, file.old_path or file.path)
    head = [] if file.head is None else statements(file.head, file.path)
    unmatched = Counter(s.sql for s in base)
    added: list[Statement] = []
    for statement in head:
        if unmatched[statement.sql] > 0:
            unmatched[statement.sql] -= 1
        else:
            added.append(statement)
    removed: list[Statement] = []
    for statement in reversed(base):  # the last copies of a repeated statement are the removed
        if unmatched[statement.sql] > 0:
            unmatched[statement.sql] -= 1
            removed.append(statement)
    out = [_change(file.path, s, "create") for s in added]
    out += [_change(file.path, s, "delete") for s in reversed(removed)]
    seen = Counter(c.address for c in out)
    out = [
        c.model_copy(update={"address": f"{c.address}#{c.facts['line']}"})
        if seen[c.address] > 1
        else c
        for c in out
    ]
    out.sort(key=lambda c: (c.line or 0, c.op, c.address))
    return out
