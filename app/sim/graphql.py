"""A focused GraphQL endpoint: the blob-batch query shape Countersign sends, and nothing more.

graphql-core is not installed, so this is a small hand-written tokenizer and recursive-descent
parser for the executable subset we need: an optional `query Name`, nested selection sets, field
aliases, arguments with string/int/boolean/null literals, inline fragments (`... on Blob`) and
`#` comments. No variables, fragments definitions or directives: those answer a GraphQL error
naming the unsupported construct, so a product relying on them fails loudly.

Schema served: `Query.repository(owner, name)` → `Repository { name nameWithOwner id
object(expression: "<rev>:<path>") }`; `object` is a `Blob { text isBinary byteSize oid
abbreviatedOid isTruncated }`, a `Tree { entries { name type path oid mode object } oid }` for a
directory, or null. Like GitHub, `text` is null for binary blobs and stops at TEXT_LIMIT
(512,000) bytes for bigger ones, with `isTruncated: true` and `byteSize` the full size. Reading
an object needs the `contents` permission: without it the field is null with a FORBIDDEN error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.sim.state import Repo, World

TEXT_LIMIT = 512_000
NOT_ACCESSIBLE = "Resource not accessible by integration"
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


def _fields(selections: list[Field | Fragment], type_name: str) -> list[Field]:
    out: list[Field] = []
    for sel in selections:
        if isinstance(sel, Fragment):
            if sel.type_name == type_name:
                out.extend(_fields(sel.selections, type_name))
        else:
            out.append(sel)
    return out


def _object(repo: Repo, expression: str) -> tuple[str, Any] | None:
    rev, sep, path = expression.partition(":")
    sha = repo.resolve(rev) if sep else None
    if sha is None:
        return None
    tree = repo.commits[sha].tree
    path = path.strip("/")
    if path in tree:
        return "Blob", tree[path]
    if path == "" or any(p.startswith(path + "/") for p in tree):
        return "Tree", (sha, path)
    return None


def _blob_field(f: Field, data: bytes, oid: str) -> Any:
    binary = b"\x00" in data[:8000]
    if not binary:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            binary = True
    too_big = len(data) > TEXT_LIMIT
    values = {
        "__typename": "Blob",
        "isBinary": binary,
        "byteSize": len(data),
        "oid": oid,
        "abbreviatedOid": oid[:7],
        "isTruncated": too_big and not binary,
    }
    if f.name == "text":
        if binary:
            return None
        # GitHub cuts at a byte offset; a character split by the cut is dropped.
        return data[:TEXT_LIMIT].decode("utf-8", "ignore")
    if f.name not in values:
        raise GraphQLError(f"Field '{f.name}' doesn't exist on type 'Blob'", f.line, f.column)
    return values[f.name]


def _tree_entries(repo: Repo, sha: str, directory: str) -> list[tuple[str, str, str]]:
    """(name, type, oid-or-subpath) of the direct children of `directory` at commit `sha`."""
    prefix = f"{directory}/" if directory else ""
    children: dict[str, tuple[str, str]] = {}
    for path, blob in repo.commits[sha].tree.items():
        if not path.startswith(prefix):
            continue
        name, _, rest = path[len(prefix) :].partition("/")
        if rest:
            children.setdefault(name, ("tree", prefix + name))
        else:
            children[name] = ("blob", blob)
    return [(name, kind, ref) for name, (kind, ref) in sorted(children.items())]


def _resolve_object(repo: Repo, type_name: str, value: Any, f: Field) -> dict[str, Any] | None:
    from app.sim.state import blob_sha

    if type_name == "Blob":
        data = repo.blobs[value]
        return {
            g.alias: _blob_field(g, data, blob_sha(data))
            for g in _fields(f.selections or [], "Blob")
        }
    sha, directory = value
    out: dict[str, Any] = {}
    for g in _fields(f.selections or [], "Tree"):
        if g.name == "__typename":
            out[g.alias] = "Tree"
        elif g.name == "entries":
            out[g.alias] = [
                _entry(repo, sha, directory, name, kind, ref, g)
                for name, kind, ref in _tree_entries(repo, sha, directory)
            ]
        else:
            raise GraphQLError(f"Field '{g.name}' doesn't exist on type 'Tree'", g.line, g.column)
    return out


def _entry(
    repo: Repo, sha: str, directory: str, name: str, kind: str, ref: str, f: Field
) -> dict[str, Any]:
    from app.sim.state import blob_sha

    path = f"{directory}/{name}" if directory else name
    out: dict[str, Any] = {}
    for g in _fields(f.selections or [], "TreeEntry"):
        if g.name == "object":
            target: tuple[str, Any] = ("Blob", ref) if kind == "blob" else ("Tree", (sha, ref))
            out[g.alias] = _resolve_object(repo, *target, g)
        elif g.name in {"name", "type", "path", "oid", "mode", "__typename"}:
            oid = blob_sha(repo.blobs[ref]) if kind == "blob" else ""
            out[g.alias] = {
                "name": name,
                "type": kind,
                "path": path,
                "oid": oid,
                "mode": 33188 if kind == "blob" else 16384,
                "__typename": "TreeEntry",
            }[g.name]
        else:
            raise GraphQLError(
                f"Field '{g.name}' doesn't exist on type 'TreeEntry'", g.line, g.column
            )
    return out


def _resolve_repository(
    repo: Repo, f: Field, errors: list[dict[str, Any]], can_read_contents: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sub in _fields(f.selections or [], "Repository"):
        if sub.name == "object":
            if not can_read_contents:
                out[sub.alias] = None
                errors.append(
                    {
                        "type": "FORBIDDEN",
                        "path": [f.alias, sub.alias],
                        "locations": [{"line": sub.line, "column": sub.column}],
                        "message": NOT_ACCESSIBLE,
                    }
                )
                continue
            found = _object(repo, str(sub.args.get("expression", "")))
            out[sub.alias] = None if found is None else _resolve_object(repo, *found, sub)
        elif sub.name in {"name", "nameWithOwner", "id", "__typename"}:
            out[sub.alias] = {
                "name": repo.name,
                "nameWithOwner": repo.full_name,
                "id": f"R_{repo.id}",
                "__typename": "Repository",
            }[sub.name]
        else:
            raise GraphQLError(
                f"Field '{sub.name}' doesn't exist on type 'Repository'", sub.line, sub.column
            )
    return out


def execute(
    world: World, query: str, visible: set[str], *, can_read_contents: bool = True
) -> dict[str, Any]:
    """Run `query`; `visible` holds the repository full names the caller may read, and
    `can_read_contents` says whether its token has the `contents` permission."""
    try:
        root = parse(query)
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for f in _fields(root, "Query"):
            if f.name == "__typename":
                data[f.alias] = "Query"
                continue
            if f.name != "repository":
                raise GraphQLError(
                    f"Field '{f.name}' doesn't exist on type 'Query'", f.line, f.column
                )
            full = f"{f.args.get('owner', '')}/{f.args.get('name', '')}"
            repo = world.repo(full)
            if repo is None or repo.full_name not in visible:
                data[f.alias] = None
                errors.append(
                    {
                        "type": "NOT_FOUND",
                        "path": [f.alias],
                        "locations": [{"line": f.line, "column": f.column}],
                        "message": f"Could not resolve to a Repository with the name '{full}'.",
                    }
                )
                continue
            data[f.alias] = _resolve_repository(repo, f, errors, can_read_contents)
    except GraphQLError as exc:
        return {"errors": [exc.as_json()]}
    return {"data": data, "errors": errors} if errors else {"data": data}
