"""SQL that runs from inside other SQL: PL/pgSQL `DO` blocks, function and procedure bodies,
and `EXECUTE '…'` strings.

A `DROP TABLE` inside `DO $$ BEGIN … END $$` drops the table just as a plain one does, so the
SQL analyzer classifies the statements found here like top-level ones. This module only finds
them: it reads dollar-quoted bodies with the SQL tokenizer, splits them on semicolons, skips the
PL/pgSQL control words in front of a statement (`BEGIN`, `IF … THEN`, `ELSE`, `LOOP`), and turns
`EXECUTE 'DROP TABLE ' || quote_ident(t)` into `DROP TABLE dynamic_value`. Parsing stays with the
caller, which tries each candidate start in turn.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

__all__ = ["Candidate", "Fragment", "bodies", "candidates", "wrapper_of"]

DYNAMIC = "dynamic_value"
STARTERS = frozenset(
    {"DROP", "DELETE", "UPDATE", "TRUNCATE", "ALTER", "CREATE", "INSERT", "GRANT", "REVOKE"}
)
_FORMAT_CODES = ("%I", "%L", "%s")


@dataclass(frozen=True)
class Fragment:
    """A body of SQL found inside a statement: its text and the file line it starts on."""

    text: str
    line: int


@dataclass(frozen=True)
class Candidate:
    """Possible starts of one statement inside a body (try them in order), or dynamic SQL."""

    texts: tuple[str, ...]
    line: int
    dynamic: bool


def _tokens(text: str) -> list[Token]:
    dialect = Dialect.get_or_raise("postgres")
    try:
        return list(dialect.tokenizer_class(dialect=dialect).tokenize(text))
    except TokenError:
        return []


def wrapper_of(tokens: list[Token]) -> str | None:
    """`DO`, `FUNCTION name`, `PROCEDURE name` when the statement wraps a body, else None."""
    words = [t.text.upper() for t in tokens[:8]]
    if words[:1] == ["DO"]:
        return "DO"
    if words[:1] != ["CREATE"]:
        return None
    for index, word in enumerate(words):
        if word in ("FUNCTION", "PROCEDURE") and index + 1 < len(tokens):
            return f"{word} {tokens[index + 1].text}"
    return None


def _dollar_bodies(text: str) -> list[tuple[int, int]]:
    """(start, end) of each dollar-quoted body `$tag$ … $tag$` in `text`."""
    out: list[tuple[int, int]] = []
    index = text.find("$")
    while index >= 0:
        close = text.find("$", index + 1)
        if close < 0:
            break
        tag = text[index : close + 1]
        if not all(c.isalnum() or c == "_" for c in tag[1:-1]) or tag[1:2].isdigit():
            index = text.find("$", index + 1)
            continue
        end = text.find(tag, close + 1)
        if end < 0:
            break
        out.append((close + 1, end))
        index = text.find("$", end + len(tag))
    return out


def bodies(statement: str, line: int) -> list[Fragment]:
    """The dollar-quoted bodies of one `DO`/`CREATE FUNCTION` statement starting at `line`."""
    return [
        Fragment(statement[start:end], line + statement.count("\n", 0, start))
        for start, end in _dollar_bodies(statement)
    ]


def _execute_sql(tokens: list[Token]) -> str | None:
    """The SQL an `EXECUTE` runs: string literals kept, everything computed as a placeholder."""
    parts: list[str] = []
    index = 0
    if tokens and tokens[0].text.upper() == "FORMAT" and len(tokens) > 2:
        first = next((t for t in tokens if t.token_type == TokenType.STRING), None)
        if first is None:
            return None
        text = first.text
        for code in _FORMAT_CODES:
            text = text.replace(code, DYNAMIC)
        return text
    while index < len(tokens):
        token = tokens[index]
        if token.text.upper() in ("USING", "INTO"):
            break
        if token.token_type == TokenType.STRING:
            parts.append(token.text)
        elif token.token_type != TokenType.DPIPE and (not parts or parts[-1] != f" {DYNAMIC} "):
            parts.append(f" {DYNAMIC} ")
            depth = 0
            while index < len(tokens):  # skip one computed operand, brackets included
                kind = tokens[index].token_type
                depth += (kind == TokenType.L_PAREN) - (kind == TokenType.R_PAREN)
                nxt = tokens[index + 1].token_type if index + 1 < len(tokens) else None
                if depth <= 0 and nxt in (TokenType.DPIPE, None):
                    break
                index += 1
        index += 1
    joined = "".join(parts).strip()
    return joined if any(t.token_type == TokenType.STRING for t in tokens) and joined else None


def statement_tokens(tokens: list[Token]) -> list[list[Token]]:
    """The tokens of each statement: split at semicolons, empty statements dropped."""
    chunks: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            chunks.append([])
        else:
            chunks[-1].append(token)
    return [c for c in chunks if c]


def candidates(body: Fragment) -> list[Candidate]:
    """Statements inside a PL/pgSQL or SQL body, each with its possible start offsets."""
    out: list[Candidate] = []
    for chunk in statement_tokens(_tokens(body.text)):
        end = chunk[-1].end + 1
        for index, token in enumerate(chunk):
            word = token.text.upper()
            line = body.line + token.line - 1
            if word == "EXECUTE" and token.token_type != TokenType.STRING:
                # The tokenizer swallows the rest of a command into one raw token: re-read it.
                sql = _execute_sql(_tokens(body.text[token.end + 1 : end]))
                if sql is not None:
                    out.append(Candidate((sql,), line, dynamic=True))
                break
            if word in STARTERS and token.token_type != TokenType.STRING:
                starts = [
                    t.start
                    for t in chunk[index:]
                    if t.text.upper() in STARTERS and t.token_type != TokenType.STRING
                ]
                out.append(Candidate(tuple(body.text[s:end] for s in starts), line, False))
                break
    return out
