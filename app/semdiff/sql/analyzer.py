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
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokenizer_core import Token

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.models import REDACTED, Change, FileDiff, Op
from app.core.redact import is_secret_name
from app.core.text import decode_text
from app.semdiff.common import templating
from app.semdiff.sql import wrapped as sql_wrapped
from app.semdiff.sql.classify import ALTER_ACTIONS, classify

__all__ = ["Statement", "analyze", "classify", "statements"]

DIALECTS: tuple[str, ...] = ("postgres", "")  # "" is sqlglot's generic dialect
MAX_SQL_FACT = 500
_SECRET_WORDS = {"PASSWORD", "IDENTIFIED", "SECRET", "ENCRYPTED"}


@dataclass(frozen=True)
class Statement:
    """One parsed statement: its tree, normalized SQL, 1-based start line and position.

    `inner` holds the statements a `DO` block or function body runs (see `sql_wrapped`);
    `originals` maps template placeholders back to the actions as written (see `templating`).
    """

    expr: exp.Expr
    sql: str
    line: int
    ordinal: int
    dialect: str
    secret: bool
    wrapper: str | None = None
    dynamic: bool = False
    inner: tuple[Statement, ...] = ()
    wraps: str | None = None  # `DO`, `FUNCTION f`: what this statement wraps its body in
    unclassified: int = 0
    originals: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """What identifies the statement across sides: its SQL with templates as written."""
        return templating.unmask(self.sql, self.originals)


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
    return sql_wrapped.statement_tokens(tokens)


def _dialects(source: str) -> tuple[str, ...]:
    """A file named for its engine (`x.mysql.up.sql`, `x.sqlite3.sql`) is read in it first."""
    parts = source.rsplit("/", 1)[-1].lower().split(".")
    for dialect, names in (("mysql", ("mysql",)), ("sqlite", ("sqlite", "sqlite3"))):
        if any(n in parts for n in names):
            return (dialect, *DIALECTS)
    return DIALECTS


def _parse_one(text: str, line: int, source: str) -> tuple[exp.Expr, str]:
    """Parse one statement with the first dialect that accepts it (postgres, then generic)."""
    first: ParseError | None = None
    for dialect in _dialects(source):
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
    """Every statement of one side, in file order (template actions masked first)."""
    return statements_of(decode_text(data, source), source)


def statements_of(text: str, source: str, *, line_offset: int = 0) -> list[Statement]:
    """Every statement of SQL text; `line_offset` places text found inside another file."""
    masked = templating.mask(text, "sql", source)
    text = masked.text
    out: list[Statement] = []
    for ordinal, chunk in enumerate(_split(text, source), start=1):
        line = chunk[0].line + line_offset
        body = text[chunk[0].start : chunk[-1].end + 1]
        expr, dialect = _parse_one(body, line, source)
        normalized = expr.sql(dialect=dialect or None, comments=False)
        secret = any(t.text.upper() in _SECRET_WORDS or is_secret_name(t.text) for t in chunk)
        wrapper = sql_wrapped.wrapper_of(chunk)
        inner: list[Statement] = []
        unclassified = 0
        if wrapper is not None:
            inner, unclassified = _wrapped(body, line, source, wrapper, masked.originals)
        out.append(
            Statement(
                expr,
                normalized,
                line,
                ordinal,
                dialect,
                secret,
                inner=tuple(inner),
                wraps=wrapper,
                unclassified=unclassified,
                originals=masked.originals,
            )
        )
    return out


def _wrapped(
    body: str, line: int, source: str, wrapper: str, originals: dict[str, str]
) -> tuple[list[Statement], int]:
    """Statements run by a DO block or function body; count the ones that would not parse."""
    found: list[Statement] = []
    missed = 0
    for fragment in sql_wrapped.bodies(body, line):
        for number, candidate in enumerate(sql_wrapped.candidates(fragment), start=1):
            parsed = None
            for text in candidate.texts:
                try:
                    parsed = _parse_one(text, candidate.line, source)
                    break
                except UnparseableError:
                    continue
            if parsed is None:
                missed += 1
                continue
            expr, dialect = parsed
            normalized = expr.sql(dialect=dialect or None, comments=False)
            secret = any(w in normalized.upper() for w in _SECRET_WORDS)
            found.append(
                Statement(
                    expr,
                    normalized,
                    candidate.line,
                    number,
                    dialect,
                    secret,
                    wrapper=wrapper,
                    dynamic=candidate.dynamic,
                    originals=originals,
                )
            )
    return found, missed


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


def _summary(label: str, extra: dict[str, Any]) -> str | None:
    """The name a reviewer knows the statement by, for the dangerous ones."""
    if label in ("DELETE", "UPDATE") and extra.get("has_where") is False:
        return f"{label} without WHERE"
    if label == "GRANT" and extra.get("grant_all"):
        return "GRANT ALL"
    if label in ("TRUNCATE", "DROP_TABLE", "DROP_SCHEMA", "DROP_DATABASE"):
        return label.replace("_", " ")
    return None


def _address(path: str, statement: Statement, label: str, obj: str | None, extra: Any) -> str:
    if label == "OTHER" or not (obj or extra.get("index")):
        return f"{path}#{statement.ordinal}"
    if label in ("CREATE_INDEX", "DROP_INDEX"):
        return f"{label.replace('_', ' ')} {extra.get('index') or obj}"
    if label in ALTER_ACTIONS:
        verb = label.replace("_", " ").replace("ALTER COLUMN TYPE", "ALTER COLUMN")
        verb = verb.replace("SET NOT NULL", "ALTER COLUMN").replace("RENAME TABLE", "RENAME")
        columns = ", ".join(c for c in extra.get("columns") or [] if c)
        return f"ALTER TABLE {obj} {verb} {columns}".rstrip()
    if label == "ALTER_TABLE":
        return f"ALTER TABLE {obj}"
    return f"{label.replace('_', ' ')} {obj}"


def change_for(
    path: str, statement: Statement, op: Op, extra_facts: dict[str, Any] | None = None
) -> Change:
    """The change one statement makes, classified; templates shown as written."""
    label, obj, extra = classify(statement.expr)
    if label == "OTHER" and statement.wraps and statement.wraps.split()[0] != "DO":
        # sqlglot keeps some CREATE FUNCTION forms as a Command: the tokens still name it.
        verb, _, name = statement.wraps.partition(" ")
        label, obj = f"CREATE_{verb}", name
    address = _address(path, statement, label, obj, extra)
    if statement.wrapper is not None:
        address = f"{address} (in {statement.wrapper})"
    if label == "DROP_INDEX":
        extra["index"] = obj
    facts: dict[str, Any] = {
        "statement": label,
        "object": obj,
        "sql": _shown_sql(statement),
        "line": statement.line,
        **extra,
    }
    if (summary := _summary(label, extra)) is not None:
        facts["summary"] = summary
    if statement.wrapper is not None:
        facts["wrapped_in"] = statement.wrapper
    if statement.dynamic:
        facts["dynamic"] = True
    if statement.key != statement.sql:
        facts["templated"] = True
    facts.update(extra_facts or {})
    facts = templating.unmask_tree(facts, statement.originals)
    address = templating.unmask(address, statement.originals)
    return Change(file=path, kind="sql", address=address, op=op, facts=facts, line=statement.line)


def changes_of(path: str, statement: Statement, op: Op) -> list[Change]:
    """A statement's change, or the changes of the statements it wraps (DO, function body)."""
    inner = [change_for(path, s, op) for s in statement.inner]
    label, _, _ = classify(statement.expr)
    if inner and label == "OTHER" and not statement.unclassified:
        return inner  # a DO block is what it runs
    extra = {"unclassified_statements": statement.unclassified} if statement.unclassified else {}
    return [change_for(path, statement, op, extra), *inner]


def dedupe_addresses(out: list[Change]) -> list[Change]:
    """Suffix `#line` to addresses that occur more than once, then order by line."""
    seen = Counter(c.address for c in out)
    out = [
        c.model_copy(update={"address": f"{c.address}#{c.facts['line']}"})
        if seen[c.address] > 1
        else c
        for c in out
    ]
    out.sort(key=lambda c: (c.line or 0, c.op, c.address))
    return out


def analyze(file: FileDiff, rule: PathRule) -> list[Change]:
    """Statements added (create) and removed (delete), matched by normalized SQL."""
    del rule  # SQL needs no per-path settings
    from app.semdiff.sql import roles  # here: roles reads this module's statements

    existed = file.base is not None and file.head is not None
    if file.path.endswith(".py"):
        from app.semdiff.sql import (
            python_migrations as sql_python,  # here: sql_python builds on this module
        )

        return roles.mark_edited(sql_python.analyze(file), existed, file.path)
    from app.semdiff.sql.matching import match_statements  # here: matching builds on this module

    base = [] if file.base is None else statements(file.base, file.old_path or file.path)
    head = [] if file.head is None else statements(file.head, file.path)
    changes = roles.mark_rebuilds(match_statements(file.path, base, head), head)
    changes = roles.mark_edited(changes, existed, file.path)
    return roles.as_rollback(changes) if roles.is_down_migration(file.path) else changes
