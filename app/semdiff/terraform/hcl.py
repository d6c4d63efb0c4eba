"""HCL syntax (`.tf`, `.tfvars`) read with tree-sitter-hcl, a C parser, into top-level items.

Parsing a 5,000-line module takes tens of milliseconds in C; a pure-Python parser took seconds.
The tree keeps comments and positions, so lines come from nodes and comments are skipped while
walking. Syntax errors are the first ERROR or MISSING node of the tree, reported with its line.

Nested blocks become values of their body: one unlabeled block is a dict (`lifecycle`,
`versioning`), repeated ones a list in source order (`ingress`), labeled ones a dict keyed by label
(`backend.s3`, `dynamic.ingress`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

import tree_sitter_hcl
from tree_sitter import Language, Node, Parser, Tree

from app.semdiff.terraform.expr import ExpressionReader, HclSyntaxError
from app.semdiff.terraform.reparse import apply_edits, chunks_of, find_edits
from app.semdiff.terraform.template import EmptyInterpolation

_LANGUAGE = Language(tree_sitter_hcl.language())
_LOCAL = threading.local()  # a tree-sitter Parser must not be shared between threads
_RECENT_FILES = 64  # remembered sides, by path, for re-parsing the other side incrementally
_RECENT_MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    value: Any
    line: int


@dataclass(frozen=True, slots=True)
class Block:
    block_type: str
    labels: tuple[str, ...]
    body: dict[str, Any]
    line: int
    key_lines: dict[str, int]  # the line of each key of the body (used for `locals`)


Item = Attribute | Block


class HclError(Exception):
    """The text is not valid HCL; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.hint = hint


def _parser() -> Parser:
    parser: Parser | None = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = Parser(_LANGUAGE)
        _LOCAL.parser = parser
    return parser


@dataclass(frozen=True, slots=True)
class _Side:
    """A parsed side kept for the other side of the same file: its tree, and its top-level items
    by their exact text (an unchanged block is not walked again, only moved to its new line)."""

    source: bytes
    tree: Tree
    items: dict[bytes, Item]


class _Recent:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sides: OrderedDict[str, _Side] = OrderedDict()

    def get(self, path: str) -> _Side | None:
        with self.lock:
            return self.sides.get(path)

    def put(self, path: str, side: _Side) -> None:
        with self.lock:
            self.sides[path] = side
            self.sides.move_to_end(path)
            while len(self.sides) > _RECENT_FILES:
                self.sides.popitem(last=False)


_RECENT = _Recent()


def read_items(text: str, path: str | None = None) -> list[Item]:
    """Top-level attributes and blocks of an HCL document, in source order.

    With `path`, the last side read for that path (usually the base of the same file) is reused:
    its tree for an incremental parse, its items for unchanged blocks. The result is the same.
    """
    source = text.replace("\r\n", "\n").encode("utf-8")
    previous = _RECENT.get(path) if path is not None else None
    tree = _parse(source, previous)
    root = tree.root_node
    if root.has_error:
        raise _syntax_error(root, source)
    kids = [k for k in root.children if k.type != "comment"]
    if not kids:
        return []
    if kids[0].type != "body":
        raise HclError("invalid HCL: expected attributes and blocks, found an object", 1)
    walker = _Walker(ExpressionReader(source))
    known = previous.items if previous is not None else {}
    items: list[Item] = []
    by_text: dict[bytes, Item] = {}
    try:
        for node in kids[0].children:
            if node.type == "comment":
                continue
            key = source[node.start_byte : node.end_byte]
            line = node.start_point.row + 1
            item = known.get(key)
            item = walker.item(node) if item is None else _moved(item, line)
            by_text[key] = item
            items.append(item)
    except HclSyntaxError as exc:
        raise HclError(f"invalid HCL: {exc.message}", exc.line) from exc
    except EmptyInterpolation as exc:
        line = exc.node.start_point.row + 1
        raise HclError("invalid HCL: empty interpolation ${} in a template", line) from exc
    if path is not None and len(source) <= _RECENT_MAX_BYTES:
        _RECENT.put(path, _Side(source, tree, by_text))
    return items


def _parse(source: bytes, previous: _Side | None) -> Tree:
    parser = _parser()
    if previous is None:
        return parser.parse(source)
    if previous.source == source:
        return previous.tree
    old = previous.tree.copy()
    edits = find_edits(previous.source, source, chunks_of(old, len(previous.source)))
    apply_edits(old, previous.source, source, edits)
    return parser.parse(source, old)


def _moved(item: Item, line: int) -> Item:
    delta = line - item.line
    if delta == 0:
        return item
    if isinstance(item, Attribute):
        return replace(item, line=line)
    lines = {key: at + delta for key, at in item.key_lines.items()}
    return replace(item, line=line, key_lines=lines)


def _syntax_error(root: Node, source: bytes) -> HclError:
    node = _first_error(root) or root
    line = node.start_point.row + 1
    at_end = node.start_byte >= len(source.rstrip())
    if node.is_missing or at_end:
        if at_end:
            return HclError("invalid HCL: unexpected end of file (unclosed brace or string?)", line)
        return HclError(f"invalid HCL: missing {node.type!r}", line)
    snippet = source[node.start_byte : node.end_byte].decode("utf-8", "replace")
    snippet = snippet.strip().splitlines()[0] if snippet.strip() else snippet
    return HclError(f"invalid HCL: unexpected {snippet[:40]!r}", line)


def _first_error(node: Node) -> Node | None:
    """The first ERROR or MISSING node in document order."""
    if node.is_error or node.is_missing:
        return node
    for kid in node.children:
        if kid.has_error or kid.is_missing:
            found = _first_error(kid)
            if found is not None:
                return found
    return None


class _Walker:
    def __init__(self, reader: ExpressionReader) -> None:
        self.reader = reader

    def item(self, node: Node) -> Item:
        line = node.start_point.row + 1
        if node.type == "attribute":
            name, value = self.attribute(node)
            return Attribute(name, value, line)
        block_type, labels, inner = self.block_parts(node)
        body, lines = self.body(inner)
        return Block(block_type, labels, body, line, lines)

    def attribute(self, node: Node) -> tuple[str, Any]:
        kids = node.children
        name = self.reader.raw(kids[0].start_byte, kids[0].end_byte)
        expression = kids[-1]
        if expression.type != "expression":
            expression = next(k for k in reversed(kids) if k.type == "expression")
        return name, self.reader.value(expression)

    def block_parts(self, node: Node) -> tuple[str, tuple[str, ...], Node | None]:
        names: list[str] = []
        inner: Node | None = None
        for kid in node.children:
            kind = kid.type
            if kind == "identifier":
                names.append(self.reader.raw(kid.start_byte, kid.end_byte))
            elif kind == "string_lit":
                names.append(self.reader.string(kid))
            elif kind == "body":
                inner = kid
        return names[0], tuple(names[1:]), inner

    def body(self, node: Node | None) -> tuple[dict[str, Any], dict[str, int]]:
        """A block body as a value, and the line of each of its keys."""
        out: dict[str, Any] = {}
        lines: dict[str, int] = {}
        if node is None:
            return out, lines
        blocks: dict[str, list[tuple[tuple[str, ...], dict[str, Any]]]] = {}
        for kid in node.children:
            kind = kid.type
            line = kid.start_point.row + 1
            if kind == "attribute":
                name, value = self.attribute(kid)
                if name in out:
                    raise HclError(
                        f"attribute {name!r} is set twice in one block (first at line {lines[name]})",
                        line,
                        "keep one of the two assignments",
                    )
                out[name] = value
                lines[name] = line
            elif kind == "block":
                block_type, labels, inner = self.block_parts(kid)
                blocks.setdefault(block_type, []).append((labels, self.body(inner)[0]))
                lines.setdefault(block_type, line)
        for block_type, items in blocks.items():
            if block_type in out:
                raise HclError(
                    f"{block_type!r} is used both as an attribute and as a block",
                    lines[block_type],
                    "use one form",
                )
            out[block_type] = nest(items)
        return out, lines


def nest(items: list[tuple[tuple[str, ...], dict[str, Any]]]) -> Any:
    """Blocks of one type: a dict when single, a list when repeated, keyed by their labels."""
    plain = [body for labels, body in items if not labels]
    labeled = [(labels, body) for labels, body in items if labels]
    if not labeled:
        return plain[0] if len(plain) == 1 else plain
    groups: dict[str, list[tuple[tuple[str, ...], dict[str, Any]]]] = {}
    for labels, body in labeled:
        groups.setdefault(labels[0], []).append((labels[1:], body))
    out: dict[str, Any] = {key: nest(group) for key, group in groups.items()}
    if plain:
        out[""] = plain[0] if len(plain) == 1 else plain
    return out
