"""YAML through rapidyaml (C++), read exactly as the ruamel reference reads it (ADR 0009).

ruamel's pure-Python composer is ~400x slower than rapidyaml on the same bytes, and it was the
bulk of every large YAML pull request. Here rapidyaml builds the tree; its JSON emitter and
`json` build the values of each top-level entry (`yaml_json`) where the JSON says exactly what
ruamel would read, and a walk node by node builds the rest: plain scalars are resolved by ruamel's
own YAML 1.2 resolver and constructors (cached per spelling), so `yes` stays a string, `0755` is
755 and a date is a date, exactly as before. Nodes for line look-ups are built lazily
(`yaml_nodes`), only along the paths a finding asks about.

Whatever this path cannot read exactly like ruamel makes `load` return None, and the caller reads
the file with ruamel instead (so ruamel's message and line stay the error users see): any parse
error, anchors, aliases, merge keys and tags, duplicate keys, nesting deeper than the cap,
containers as keys, empty documents, tabs, line breaks other than LF/CRLF, a BOM, and
characters ruamel refuses. `tests/core/test_yaml_differential.py` holds the two paths equal.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any

import ryml
from ruamel.yaml import YAML
from ruamel.yaml.nodes import Node, ScalarNode
from ruamel.yaml.reader import Reader
from ryml import _ryml

from app.core import yaml_json
from app.core.yaml_lenient import Defer as _Defer
from app.core.yaml_lenient import (
    check_flow_keys,
    check_flow_null,
    check_header,
    check_nodes,
    check_plain_flow_key,
    check_quoted_key,
)
from app.core.yaml_nodes import Source, node_for

__all__ = ["load"]

# rapidyaml node type bits (ryml.NodeType values).
_KEY, _VAL, _MAP, _SEQ, _DOC = ryml.KEY, ryml.VAL, ryml.MAP, ryml.SEQ, ryml.DOC
_KEYQUO, _VALQUO = ryml.KEYQUO, ryml.VALQUO
_KEYNIL, _VALNIL = ryml.KEYNIL, ryml.VALNIL
_BLOCK_SCALAR = ryml.VAL_LITERAL | ryml.VAL_FOLDED
_FLOW = ryml.FLOW_SL | ryml.FLOW_ML
_DEFER = ryml.KEYREF | ryml.VALREF | ryml.KEYANCH | ryml.VALANCH | ryml.KEYTAG | ryml.VALTAG
_NESTED = _MAP | _SEQ | _DEFER
_ODD_KEY = _KEYQUO | _KEYNIL  # not a plain key
_ODD_VALUE = _VALQUO | _VALNIL  # not a plain value
_NONE = ryml.NONE
_STREAM = ryml.STREAM
# The C functions behind `ryml.Tree`'s methods, called directly: the Python wrapper around each
# doubles the cost of the walk, which is a few calls per node.
_type = _ryml.Tree_type
_first_child = _ryml.Tree_first_child
_next_sibling = _ryml.Tree_next_sibling
_tree_key = _ryml.Tree_key
_tree_val = _ryml.Tree_val

_STR = "tag:yaml.org,2002:str"
_RESOLVED = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "timestamp", "value")
)
# Characters after which ruamel and rapidyaml may split text differently: tabs (rapidyaml reads
# `a:<TAB>b` as one scalar, YAML 1.2 as a mapping), line breaks ruamel counts but we do not
# (lone CR, NEL, LS, PS), a byte-order mark in the middle of text.
_ODD = ("\t", "\x85", "\u2028", "\u2029", "\ufeff")

# Lines where rapidyaml is more lenient than ruamel (found by the fuzzing in
# tests/core/test_yaml_differential.py): a `...` document end, even indented (rapidyaml accepts
# content after it), and a `%` directive line.
_LENIENT = re.compile(r"\n[ \t]*\.\.\.(?:[ \t]|\r?\n|\r?\Z)|\n%")  # on "\n" + text

_CONTROL = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])  # deleted to count

_reference = YAML(typ="safe", pure=True)


# YAML forbids a plain scalar to start with an indicator; rapidyaml accepts some (`@x`, `}x`).
# `?b` in a flow sequence is an explicit key to ruamel, a string to rapidyaml; `{a, :b}` is an
# error to ruamel, a key to rapidyaml (`:8080` in block context is a plain string to both: it is
# read by ruamel too, only slower).
_INDICATORS = frozenset(",[]{}#&*!|>'\"%@`?:")


_NOISE = re.compile(
    r"^(?:/project/cpp/src/c4/\S*: (?:\(detected here\)|ERROR: )"
    r"|line=\d+ col=\d+ \(\d+B\): ERROR: \[\w+\] )"
)


def is_parser_noise(line: str) -> bool:
    """A line rapidyaml's C++ core printed to stderr for an error it also raised (the loader falls
    back to ruamel, whose message names the file and line; an emitter error on YAML nested deeper
    than it emits falls back to the walk): `app/cli/stderr_filter` drops them."""
    return _NOISE.match(line) is not None


@lru_cache(maxsize=1 << 16)
def _plain(text: str) -> Any:
    """A plain scalar's value, by ruamel's YAML 1.2 resolver and constructors."""
    if text[:1] in _INDICATORS:
        raise _Defer("plain scalar starting with an indicator")
    tag = str(_reference.resolver.resolve(ScalarNode, text, (True, False)))
    if tag == _STR:
        return text
    if tag not in _RESOLVED:
        raise _Defer(tag)
    node = ScalarNode(tag, text)
    return _reference.constructor.yaml_constructors[tag](_reference.constructor, node)


class _Reused:
    """Values of large top-level entries by their exact text, least recently used out."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self.entries: OrderedDict[bytes, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, text: bytes, default: Any) -> Any:
        with self.lock:
            if text in self.entries:
                self.entries.move_to_end(text)
                return self.entries[text]
        return default

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0

    def put(self, text: bytes, value: Any) -> None:
        with self.lock:
            if text in self.entries or len(text) > self.max_bytes:
                return
            self.entries[text] = value
            self.size += len(text)
            while self.size > self.max_bytes:
                old, _ = self.entries.popitem(last=False)
                self.size -= len(old)


_SMALL = 2048  # JSON text below which a subtree JSON cannot read is walked without JSON
_MIN_REUSED = 4096  # smaller entries are walked again: cheaper than keeping them
_MISSING = object()
_reused = _Reused(32 * 1024 * 1024)


def _text(view: memoryview) -> str:
    try:
        return str(view, "utf-8")
    except UnicodeDecodeError as exc:  # an escape rapidyaml encodes differently (`"\\ud800"`)
        raise _Defer("escape") from exc


class _Walker:
    """One walk of a rapidyaml tree into values, checking what rapidyaml is lenient about."""

    def __init__(self, src: Source, limit: int) -> None:
        self.src, self.tree, self.limit = src, src.tree, limit
        self.to_eof = False  # whether the document being walked runs to the end of the text
        self.json = False  # build collections with rapidyaml's JSON emitter (`yaml_json`)
        self.flow = 0  # how deep flow collections nest (at most)
        self.quoted: dict[int, int] = {}  # ambiguous quoted scalars per top-level entry

    def count_quoted(self, nodes: yaml_json.Nodes, nid: int, count: int) -> None:
        """Count `count` ambiguous quoted scalars at `nid` for its document's top-level entry."""
        types, parents = nodes.types, nodes.parents
        while parents[nid] != _NONE and parents[parents[nid]] != _NONE:
            if types[parents[nid]] & _DOC:
                break
            nid = parents[nid]
        self.quoted[nid] = self.quoted.get(nid, 0) + count

    def scalar(self, nid: int, kind: int) -> Any:
        if kind & _VALQUO:
            if kind & _BLOCK_SCALAR:
                check_header(self.src, self.src.offset(_tree_val(self.tree, nid)))
            return _text(_tree_val(self.tree, nid))
        if kind & _VALNIL:
            return None
        return _plain(_text(_tree_val(self.tree, nid)))

    def key(self, nid: int, kind: int) -> Any:
        if kind & _KEYQUO:
            check_quoted_key(self.src, self.src.offset(_tree_key(self.tree, nid)))
            return _text(_tree_key(self.tree, nid))
        if kind & _KEYNIL:  # `[a,: b]`: a null key to rapidyaml, an error to ruamel
            raise _Defer("null key")
        return _plain(_text(_tree_key(self.tree, nid)))

    def value(self, nid: int, depth: int) -> Any:
        """The value of node `nid` (a walk of its subtree), or _Defer. The common cases (plain
        key, plain value) are inlined: this loop runs once per node of every YAML file."""
        if depth > self.limit:
            raise _Defer("depth")
        tree = self.tree
        kind = _type(tree, nid)
        if kind & _DEFER:
            raise _Defer("anchor, alias or tag")
        if self.json and kind & (_MAP | _SEQ) and (depth or kind & (_SEQ | _FLOW)):
            try:  # a document's top-level block entries go one by one (reused by `_entry`)
                return yaml_json.subtree_value(
                    tree,
                    nid,
                    bool(kind & _KEY),
                    self.limit - depth - self.flow,
                    quoted=self.quoted.get(nid, 0) if depth == 1 else None,
                )
            except yaml_json.Unclear as unclear:
                if unclear.size < _SMALL:  # walk it all: emitting again costs more
                    self.json = False
                    try:
                        return self._collection(nid, kind, depth)
                    finally:
                        self.json = True
        return self._collection(nid, kind, depth)

    def _collection(self, nid: int, kind: int, depth: int) -> Any:
        tree = self.tree
        if kind & _MAP:
            return self._mapping(nid, kind, depth)
        if kind & _SEQ:
            items: list[Any] = []
            child = _first_child(tree, nid)
            while child != _NONE:
                ckind = _type(tree, child)
                if ckind & _NESTED:
                    items.append(self.value(child, depth + 1))
                elif ckind & _ODD_VALUE:
                    items.append(self.scalar(child, ckind))
                else:
                    items.append(_plain(str(_tree_val(tree, child), "utf-8")))
                child = _next_sibling(tree, child)
            return items
        if kind & _VAL:
            return self.scalar(nid, kind)
        raise _Defer("node without a value")

    def _mapping(self, nid: int, kind: int, depth: int) -> dict[Any, Any]:
        tree = self.tree
        out: dict[Any, Any] = {}
        reuse = depth == 0 and not kind & _FLOW  # a document's top-level block entries
        child = _first_child(tree, nid)
        while child != _NONE:
            ckind = _type(tree, child)
            if ckind & _DEFER:
                raise _Defer("anchor, alias or tag")
            if ckind & _ODD_KEY:
                key = self.key(child, ckind)
            else:
                view = _tree_key(tree, child)
                if kind & _FLOW:
                    check_plain_flow_key(self.src, self.src.offset(view), len(view))
                key = _plain(str(view, "utf-8"))
            if key in out:
                raise _Defer("duplicate key")
            following = _next_sibling(tree, child)
            if ckind & _NESTED:
                if reuse:
                    out[key] = self._entry(child, following, depth)
                else:
                    out[key] = self.value(child, depth + 1)
            elif ckind & _ODD_VALUE:
                if ckind & _VALNIL and kind & _FLOW and not ckind & _KEYQUO:
                    view = _tree_key(tree, child)
                    check_flow_null(self.src, self.src.offset(view), len(view))
                out[key] = self.scalar(child, ckind)
            else:
                out[key] = _plain(str(_tree_val(tree, child), "utf-8"))
            child = following
        return out

    def _entry(self, child: int, following: int, depth: int) -> Any:
        """A top-level entry's value, reused when the same text (from its line's start to the
        next entry) was read before: a PR's head is mostly its base, and a CRD's `spec` is
        megabytes. Values are never changed in place (the document cache shares them too)."""
        src = self.src
        start = src.offset(_tree_key(self.tree, child))
        if following != _NONE:
            has_key = not _type(self.tree, following) & _KEYNIL
            end = src.offset(_tree_key(self.tree, following)) if has_key else None
        else:
            end = len(src.original) if self.to_eof else None
        if start is None or end is None or end - start < _MIN_REUSED:
            return self.value(child, depth + 1)
        text = src.original[src.original.rfind(b"\n", 0, start) + 1 : end]
        found = _reused.get(text, _MISSING)
        if found is not _MISSING:
            return found
        value = self.value(child, depth + 1)
        _reused.put(text, value)
        return value


def _prepare_json(walker: _Walker) -> None:
    """Turn on the JSON path when the node array can be read in bulk, after the checks the
    walk made per node on what JSON does not show: anchors, tags and null keys defer the
    file; quoted keys, block scalar headers and flow `{q:}` are checked node by node."""
    nodes = yaml_json.node_columns(walker.tree)
    if nodes is None:
        return
    types = nodes.types
    kinds = set(types)
    for kind in kinds:
        if kind & (_DEFER | _KEYNIL):
            raise _Defer("anchor, alias, tag or null key")
        if not kind & (_MAP | _SEQ | _VAL | _STREAM):
            raise _Defer("node without a value")
        if kind & (_MAP | _SEQ) and kind & _FLOW:
            walker.flow = max(walker.flow, yaml_json.flow_nesting(types, nodes.parents, kind))
    odd = _KEYQUO | _VALQUO | (_VALNIL if walker.flow else 0)  # `{q:}` needs a flow mapping
    for kind in kinds:
        if kind & odd:
            for nid, ambiguous in check_nodes(walker.src, nodes, kind):
                walker.count_quoted(nodes, nid, ambiguous)
        if kind & _MAP and kind & _FLOW:
            for nid in yaml_json.ids_of(types, kind):
                check_flow_keys(walker.src, nodes, nid)
    walker.json = True


def _documents(tree: ryml.Tree) -> list[int]:
    root = tree.root_id()
    if tree.is_stream(root):
        return list(ryml.children(tree, root))
    kind = tree.type(root)
    if kind & (_MAP | _SEQ) or (kind & _VAL and not kind & _VALNIL):
        return [root]
    return []


def _suspicious(text: str) -> bool:
    if any(ch in text for ch in _ODD):
        return True
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return True
    if ("..." in text or "%" in text) and _LENIENT.search("\n" + text):
        return True
    if text.isascii():  # the common case: only control characters to look for, in bytes
        data = text.encode("ascii")
        return len(data.translate(None, _CONTROL)) != len(data)
    return Reader.NON_PRINTABLE.search(text) is not None


def load(
    text: str, source: str, *, max_depth: int, max_nodes: int
) -> list[tuple[Any, int, Node]] | None:
    """(value, first line, node) per document, or None when ruamel must read this text."""
    if not text:
        return []
    if _suspicious(text):
        return None
    buffer = bytearray(text.encode("utf-8"))
    original = bytes(buffer)
    try:
        tree = ryml.parse_in_place(buffer)
    except ryml.ExceptionBasic:
        return None
    if tree.size() > max_nodes:
        return None
    src = Source(tree, buffer, original, text, source)
    walker = _Walker(src, max_depth)
    out: list[tuple[Any, int, Node]] = []
    try:
        _prepare_json(walker)
        documents = _documents(tree)
        src.last_doc = documents[-1] if documents else -1
        for index, doc in enumerate(documents):
            walker.to_eof = doc == documents[-1]
            value = walker.value(doc, 0)
            node = node_for(src, doc, index, ())
            line = node.start_mark.line if node.start_mark is not None else None
            if line is None:
                return None
            out.append((value, line + 1, node))
    except (_Defer, UnicodeDecodeError):  # UTF-8 rapidyaml wrote for an escape (`"\\ud800"`)
        return None
    except RecursionError:
        return None
    return out
