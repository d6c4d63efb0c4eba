"""Values at C speed: rapidyaml emits a subtree as JSON and `json` builds it (ADR 0009).

The Python walk that turned rapidyaml's tree into values cost a few calls per node, ~10x the C
parse. rapidyaml's JSON emitter writes every key and every quoted scalar as a JSON string, plain
scalars that are JSON numbers, `true`, `false` or `null` as they are, a plain empty value as
`null`, and every other plain scalar as a JSON string too. So a JSON string `s` is the value
ruamel reads unless `s` would read as something else if it was plain (null, a bool, a number,
a timestamp, `<<`) or starts with an indicator: such strings are "ambiguous" (`_AMBIGUOUS`).

The caller (`yaml_fast`) counts, per top-level entry, the quoted scalars whose text is
ambiguous (from the node types, read in bulk from rapidyaml's node array, `node_columns`). When
the entry's JSON holds exactly that many ambiguous strings, none comes from a plain scalar and
the JSON is trusted; otherwise (`~`, `0x1F`, `True` written plain) the entry is `Unclear` and
walked node by node, its nested collections trying JSON again. Also `Unclear`: a number the
emitter may have rewritten (`.5e3` becomes `0.5e3`; `inf`, `nan`, even a quoted key `.Inf`
become `.inf`/`.nan`), NaN/Infinity, a duplicate key, invalid UTF-8 and anything json refuses,
and nesting deeper than the caller allows (the emitter's indentation plus how deep flow
collections nest). What JSON cannot show at all (anchors, tags, null keys, quoted keys across
lines, block scalar headers, `{q:}`) the caller checks on those few nodes, as the walk did.
"""

from __future__ import annotations

import ctypes
import json
import re
from typing import Any

import ryml
from ruamel.yaml import YAML

__all__ = [
    "Nodes",
    "Unclear",
    "ambiguous_text",
    "decode",
    "emit",
    "flow_nesting",
    "ids_of",
    "node_columns",
    "subtree_value",
]

_NONE = ryml.NONE
_NESTED = ryml.MAP | ryml.SEQ
_FLOW = ryml.FLOW_SL | ryml.FLOW_ML


class Unclear(Exception):
    """The JSON of this subtree cannot say what ruamel would read: walk it instead."""

    def __init__(self, why: str, size: int = 0) -> None:
        super().__init__(why)
        self.size = size  # the JSON text's length (0 when not emitted)


# rapidyaml 0.15.2's `NodeData` (c4/yml/node_type.hpp, tree.hpp): the type, then key and value
# as (tag, scalar, anchor) string views of (pointer, length), then parent, first child, last
# child, next and previous sibling: 18 machine words. Checked against the API at import.
_WORDS = 18
_TYPE, _KEY_SCALAR, _VAL_SCALAR, _PARENT = 0, 3, 9, 13


class Nodes:
    """rapidyaml's node array read in bulk: every node's type and parent, and any node's
    key or value as (address, length)."""

    def __init__(self, tree: ryml.Tree) -> None:
        size = int(tree.size())
        first = ctypes.c_uint64.from_address(int(tree.this)).value  # Tree::m_buf comes first
        nodes = (ctypes.c_uint64 * (size * _WORDS)).from_address(first)
        self.words = memoryview(nodes).cast("B").cast("Q")
        self.types: list[int] = self.words[_TYPE::_WORDS].tolist()
        self.parents: list[int] = self.words[_PARENT::_WORDS].tolist()

    def scalar(self, nid: int, key: bool) -> tuple[int, int]:
        at = nid * _WORDS + (_KEY_SCALAR if key else _VAL_SCALAR)
        return self.words[at], self.words[at + 1]


def _layout_holds() -> bool:
    """Whether the node array reads as this module assumes (else the walk is used, slower)."""
    probe = bytearray(b"a: 1\nb: [x, 'y', {c: d}]\n---\n- |\n  e\n- ? f\n")
    try:
        tree = ryml.parse_in_place(probe)
        nodes = Nodes(tree)
        size = int(tree.size())
        types = [int(tree.type(i)) for i in range(size)]
        parents = [_NONE if tree.is_root(i) else int(tree.parent(i)) for i in range(size)]
        base = ctypes.addressof(ctypes.c_char.from_buffer(probe))
        scalars = [i for i in range(size) if types[i] & ryml.VAL and not types[i] & _NESTED]
        vals = [
            bytes(probe[p - base : p - base + n]) if p else None
            for p, n in (nodes.scalar(i, False) for i in scalars)
        ]
        expected = [None if (v := tree.val(i)) is None else bytes(v) for i in scalars]
        keys = [bytes(probe[p - base : p - base + n]) for p, n in (nodes.scalar(1, True),)]
    except Exception:  # any surprise disables the bulk read, never the loader
        return False
    return (
        nodes.types == types
        and nodes.parents == parents
        and vals == expected
        and len(vals) == 6
        and keys == [bytes(tree.key(1))]
    )


_LAYOUT_OK = _layout_holds()


def node_columns(tree: ryml.Tree) -> Nodes | None:
    """The node array of `tree` (None when the layout check failed or the tree is empty)."""
    size = int(tree.size())
    if not _LAYOUT_OK or size == 0:
        return None
    if ctypes.c_uint64.from_address(int(tree.this) + 16).value != size:  # Tree::m_size
        return None
    return Nodes(tree)


def ids_of(types: list[int], kind: int) -> list[int]:
    """The ids of the nodes of type `kind` (list.index scans in C)."""
    out, at = [], -1
    try:
        while True:
            at = types.index(kind, at + 1)
            out.append(at)
    except ValueError:
        return out


def flow_nesting(types: list[int], parents: list[int], kind: int) -> int:
    """How deep flow collections of type `kind` sit in other flow collections (at most)."""
    deepest = 0
    for nid in ids_of(types, kind):
        levels = 1
        while parents[nid] != _NONE and types[parents[nid]] & _FLOW:
            nid, levels = parents[nid], levels + 1
        deepest = max(deepest, levels)
    return deepest


_INDICATORS = ",[]{}#&*!|>'%@`?:"  # a plain scalar may not start with one (yaml_fast too)


def _plain_patterns() -> tuple[str, str]:
    """ruamel's YAML 1.2 implicit resolvers (bool, null, int, float, timestamp, merge) as one
    alternation, and the characters such a scalar can start with."""
    seen: list[str] = []
    first = set(_INDICATORS + "\\")
    for char, resolvers in YAML(typ="safe", pure=True).resolver.versioned_resolver.items():
        for tag, regexp in resolvers:
            if tag == "tag:yaml.org,2002:value":  # `=`: read as the text it is (yamlsafe)
                continue
            if char:
                first.add(char)
            body = regexp.pattern
            if body.startswith("^") and body.endswith("$"):
                body = body[1:-1]
            if body not in seen:
                seen.append(body)
    return "|".join(seen), "".join(re.escape(c) for c in sorted(first))


_RESOLVED, _FIRST = _plain_patterns()
# A JSON string token (opened after `[`, `{`, `,` or a space) whose text ruamel would read as
# something else if it was plain, or which starts with an indicator (a plain scalar may not).
# The empty string is not one: rapidyaml emits a plain empty value as `null`. A quote then an
# indicator then a line break is a string's end (`"a,"` at the end of a line), never a start:
# JSON strings hold no raw line break.
_AMBIGUOUS = re.compile(
    rf"\"(?=[{_FIRST}])(?<=[\[{{,\s]\")"
    rf"(?:(?:{_RESOLVED})\"|[{re.escape(_INDICATORS)}](?!\n)|\\\")",
    re.VERBOSE,
)
_AMBIGUOUS_TEXT = re.compile(
    rf"(?:(?:{_RESOLVED})\Z|[{re.escape(_INDICATORS)}\"])".encode(), re.VERBOSE
)


def ambiguous_text(text: bytes) -> bool:
    """Whether a scalar's text, emitted as a JSON string, is one `_AMBIGUOUS` finds. When the
    JSON of a subtree has as many such strings as it has quoted scalars with such text, no
    plain scalar is among them, and every JSON string in it is the value ruamel reads."""
    return bool(text) and _AMBIGUOUS_TEXT.match(text) is not None


def emit(tree: ryml.Tree, nid: int) -> str | None:
    """rapidyaml's JSON for node `nid` (a key's node gives `"key": value`), or None."""
    try:
        text = ryml.emit_json_malloc(tree, nid)
    except ryml.ExceptionBasic:  # e.g. nesting deeper than the emitter's own cap
        return None
    return text if isinstance(text, str) else None


# A float the emitter may have rewritten from a plain scalar ruamel reads as text (`.5e3`).
_REWRITTEN = re.compile(r"-?0\.[0-9]*[eE][0-9]")


def _float(token: str) -> float:
    if _REWRITTEN.match(token):
        raise Unclear(token)
    return float(token)


def _constant(token: str) -> Any:
    raise Unclear(token)  # NaN / Infinity: ruamel reads those spellings as text


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise Unclear("duplicate key")  # the walk refuses it with ruamel's error
    return out


_decoder = json.JSONDecoder(
    object_pairs_hook=_object, parse_float=_float, parse_constant=_constant, strict=False
)


def subtree_value(
    tree: ryml.Tree, nid: int, has_key: bool, max_nesting: int, *, quoted: int | None
) -> Any:
    """The value of node `nid` built by json, or raise Unclear. `max_nesting` is how many levels
    of collections below this node the caller allows (its depth cap minus the flow bound);
    `quoted`, when known, is how many quoted scalars below `nid` read as ambiguous strings."""
    if max_nesting < 0:
        raise Unclear("depth")
    text = emit(tree, nid)
    if text is None:
        raise Unclear("emitter")
    return decode(text, has_key, max_nesting, quoted=quoted)


def decode(text: str, has_key: bool, max_nesting: int, *, quoted: int | None) -> Any:
    """The value of emitted JSON `text` (see `subtree_value`), or raise Unclear."""
    if not text.isascii():
        try:  # rapidyaml writes invalid UTF-8 for some escapes (`"\\ud800"`); the walk defers
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise Unclear("escape", len(text)) from exc
    if '.inf"' in text or '.nan"' in text:  # the emitter rewrites `inf`, `.Inf`, `nan`...
        raise Unclear("infinity or NaN", len(text))  # to `.inf`/`.nan`, even quoted keys
    wrapped = "{" + text + "}" if has_key else "[" + text + "]"
    if quoted is None:
        if _AMBIGUOUS.search(wrapped) is not None:
            raise Unclear("ambiguous string", len(text))
    elif len(_AMBIGUOUS.findall(wrapped)) != quoted:
        raise Unclear("ambiguous string", len(text))
    if max_nesting < 0 or "\n" + " " * (2 * max_nesting + 1) in text:
        raise Unclear("depth", len(text))
    try:
        value = _decoder.decode(wrapped)
    except Unclear as exc:
        raise Unclear(str(exc), len(text)) from exc
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise Unclear("json", len(text)) from exc
    if len(value) != 1:
        raise Unclear("emitter", len(text))
    return next(iter(value.values())) if has_key else value[0]
