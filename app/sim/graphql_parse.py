"""The GraphQL subset the simulator parses: a hand-written tokenizer and recursive-descent parser.

graphql-core is not installed, so this covers the executable subset we need: an optional
`query Name`, nested selection sets, field aliases, arguments with string/int/boolean/null
literals, inline fragments (`... on Blob`) and `#` comments. No variables, fragment definitions or
directives: those raise a GraphQLError naming the unsupported construct.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_PUNCT = "{}():,$!=@[]"


class GraphQLError(Exception):
    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def as_json(self) -> dict[str, Any]:
        return {"message": self.message, "locations": [{"line": self.line, "column": self.column}]}


@dataclass(frozen=True)
class Token:
    kind: str  # "name" | "string" | "int" | "punct" | "spread" | "end"
    value: str
    line: int
    column: int


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    i, line, col0 = 0, 1, 0
    while i < len(source):
        ch = source[i]
        column = i - col0 + 1
        if ch == "\n":
            line, col0 = line + 1, i + 1
            i += 1
        elif ch in " \t\r\ufeff":
            i += 1
        elif ch == "#":
            while i < len(source) and source[i] != "\n":
                i += 1
        elif ch in _PUNCT:
            if ch != ",":  # commas are insignificant in GraphQL
                tokens.append(Token("punct", ch, line, column))
            i += 1
        elif source.startswith("...", i):
            tokens.append(Token("spread", "...", line, column))
            i += 3
        elif ch == '"':
            value, i = _string(source, i, line, column)
            tokens.append(Token("string", value, line, column))
        elif ch == "-" or ch.isdigit():
            j = i + 1
            while j < len(source) and source[j].isdigit():
                j += 1
            tokens.append(Token("int", source[i:j], line, column))
            i = j
        elif ch == "_" or ch.isalpha():
            j = i + 1
            while j < len(source) and (source[j] == "_" or source[j].isalnum()):
                j += 1
            tokens.append(Token("name", source[i:j], line, column))
            i = j
        else:
            raise GraphQLError(f"Parse error on {ch!r}: unsupported syntax", line, column)
    tokens.append(Token("end", "", line, len(source) - col0 + 1))
    return tokens


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _string(source: str, start: int, line: int, column: int) -> tuple[str, int]:
    if source.startswith('"""', start):
        raise GraphQLError("block strings are not supported by the simulator", line, column)
    out: list[str] = []
    i = start + 1
    while i < len(source):
        ch = source[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\n":
            break
        if ch == "\\":
            nxt = source[i + 1 : i + 2]
            if nxt == "u":
                code = _hex4(source, i + 2, line, column)
                i += 6
                # JSON-style encoders write astral characters as a surrogate pair.
                if 0xD800 <= code < 0xDC00 and source.startswith("\\u", i):
                    low = _hex4(source, i + 2, line, column)
                    if 0xDC00 <= low < 0xE000:
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                out.append(chr(code))
                continue
            if nxt not in _ESCAPES:
                raise GraphQLError(f"Parse error: bad escape \\{nxt}", line, column)
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise GraphQLError("Parse error: unterminated string", line, column)


def _hex4(source: str, start: int, line: int, column: int) -> int:
    digits = source[start : start + 4]
    if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise GraphQLError(f"Parse error: bad unicode escape \\u{digits}", line, column)
    return int(digits, 16)


@dataclass
class Field:
    name: str
    alias: str
    args: dict[str, Any]
    selections: list[Field | Fragment] | None
    line: int
    column: int


@dataclass
class Fragment:
    type_name: str
    selections: list[Field | Fragment] = field(default_factory=list)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self, kind: str, value: str | None = None) -> Token:
        tok = self.peek()
        if tok.kind != kind or (value is not None and tok.value != value):
            want = value or kind
            shown = tok.value or "end of query"
            raise GraphQLError(
                f"Parse error: expected {want!r}, got {shown!r}", tok.line, tok.column
            )
        self.pos += 1
        return tok

    def document(self) -> list[Field | Fragment]:
        tok = self.peek()
        if tok.kind == "name":
            if tok.value != "query":
                raise GraphQLError(f"only queries are supported, not {tok.value!r}", tok.line)
            self.pos += 1
            if self.peek().kind == "name":
                self.pos += 1
            if self.peek().value == "(":
                bad = self.peek()
                raise GraphQLError("variables are not supported by the simulator", bad.line)
        selections = self.selection_set()
        self.take("end")
        return selections

    def selection_set(self) -> list[Field | Fragment]:
        self.take("punct", "{")
        out: list[Field | Fragment] = []
        while self.peek().value != "}":
            if self.peek().kind == "end":
                tok = self.peek()
                raise GraphQLError("Parse error: unclosed '{'", tok.line, tok.column)
            out.append(self.selection())
        self.take("punct", "}")
        return out

    def selection(self) -> Field | Fragment:
        if self.peek().kind == "spread":
            tok = self.take("spread")
            if self.peek().value != "on":
                raise GraphQLError("named fragments are not supported", tok.line, tok.column)
            self.take("name", "on")
            type_name = self.take("name").value
            return Fragment(type_name, self.selection_set())
        first = self.take("name")
        alias, name = first.value, first.value
        if self.peek().value == ":":
            self.take("punct", ":")
            name = self.take("name").value
        args: dict[str, Any] = {}
        if self.peek().value == "(":
            self.take("punct", "(")
            while self.peek().value != ")":
                key = self.take("name").value
                self.take("punct", ":")
                args[key] = self.value()
            self.take("punct", ")")
        selections = self.selection_set() if self.peek().value == "{" else None
        return Field(name, alias, args, selections, first.line, first.column)

    def value(self) -> Any:
        tok = self.peek()
        self.pos += 1
        if tok.kind == "string":
            return tok.value
        if tok.kind == "int":
            return int(tok.value)
        if tok.kind == "name" and tok.value in {"true", "false", "null"}:
            return {"true": True, "false": False, "null": None}[tok.value]
        raise GraphQLError(f"unsupported argument value {tok.value!r}", tok.line, tok.column)


def parse(query: str) -> list[Field | Fragment]:
    return _Parser(tokenize(query)).document()
