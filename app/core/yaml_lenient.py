"""Where rapidyaml reads more than ruamel does: the checks that send such text to ruamel.

Each was found by the differential fuzzing (`tests/core/test_yaml_differential.py::KNOWN`) and
is made on the bytes around one scalar, by its byte offset in the source (ADR 0009).
"""

from __future__ import annotations

import re

import ryml

from app.core import yaml_json
from app.core.yaml_nodes import Source

__all__ = [
    "Defer",
    "check_flow_keys",
    "check_flow_null",
    "check_header",
    "check_nodes",
    "check_plain_flow_key",
    "check_quoted_key",
]

_MAP, _NONE = ryml.MAP, ryml.NONE
_KEYQUO, _VALQUO, _KEYNIL, _VALNIL = ryml.KEYQUO, ryml.VALQUO, ryml.KEYNIL, ryml.VALNIL
_BLOCK_SCALAR = ryml.VAL_LITERAL | ryml.VAL_FOLDED
_FLOW = ryml.FLOW_SL | ryml.FLOW_ML


class Defer(Exception):
    """This input is read by the ruamel reference instead (`yaml_fast`'s docstring says why)."""


_HEADER = re.compile(rb"[|>][-+1-9]*[ \t]*(?:#[^\n]*)?\r?$")


def check_flow_null(src: Source, offset: int | None, length: int) -> None:
    """`{q:}` / `[q:]`: key `q` to rapidyaml, the text `q:` to ruamel (key at `offset`)."""
    if offset is None:
        raise Defer("flow key")
    end = offset + length
    if src.original[end : end + 2] in (b":,", b":]", b":}"):
        raise Defer("flow key ending in a colon")


def check_plain_flow_key(src: Source, offset: int | None, length: int) -> None:
    """A plain key in a flow mapping is one line (`{a\n  b: 1}`: key `a b` to rapidyaml, an
    error to ruamel): its text as parsed (folded in place) equals the source bytes there."""
    if offset is None:
        raise Defer("flow key")
    if src.original[offset : offset + length] != src.buffer[offset : offset + length]:
        raise Defer("plain flow key across lines")


def check_header(src: Source, offset: int | None) -> None:
    """A block scalar's `|`/`>` header ends its line (rapidyaml reads `> - x` as one); the
    scalar's text starts at `offset`."""
    data = src.original
    if not data.endswith(b"\n"):  # rapidyaml keeps a final line break the file lacks
        raise Defer("block scalar at the end of a file without a final line break")
    if offset is None or offset == 0 or data[offset - 1 : offset] != b"\n":
        raise Defer("block scalar header")
    start = data.rfind(b"\n", 0, offset - 1) + 1
    header = _HEADER.search(data, start, offset - 1)
    if header is None:
        raise Defer("block scalar header")
    if b"#" in header.group():  # rapidyaml then drops the final line break (`| # note`)
        raise Defer("comment on a block scalar header")
    _check_leading_blanks(data, offset)


def check_quoted_key(src: Source, offset: int | None) -> None:
    """An implicit key is one line (rapidyaml accepts a quoted key across lines), and
    `"a":b` with no space is JSON style, which ruamel refuses in a flow sequence."""
    data = src.original
    if offset is None or offset == 0:
        raise Defer("quoted key")
    quote = data[offset - 1 : offset]
    end = data.find(b"\n", offset)
    line = data[offset : len(data) if end < 0 else end]
    if quote == b"'":  # possessive: `''` is an escaped quote, never a close and an open
        match = re.match(rb"(?:[^']|'')*+'", line)
    elif quote == b'"':
        match = re.match(rb'(?:[^"\\]|\\.)*+"', line)
    else:
        match = None
    if match is None:
        raise Defer("quoted key across lines")
    after = line[match.end() : match.end() + 2]
    if after[:1] == b":" and after[1:2] not in (b"", b" ", b"\r", b",", b"]", b"}"):
        raise Defer("JSON-style key")


def _check_leading_blanks(data: bytes, pos: int) -> None:
    """Blank lines before a block scalar's text that ruamel refuses and rapidyaml accepts:
    wider than the text's indent (the spec's rule), or, when the first blank line has spaces,
    any later leading line indented further ("more indented follow up line than first")."""
    first, widest = -1, 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        line = data[pos:end].rstrip(b"\r")
        text = line.lstrip(b" ")
        indent = len(line) - len(text)
        if text:
            if widest > indent or (first > 0 and indent > first):
                raise Defer("blank lines before a block scalar's text")
            return
        first = indent if first < 0 else first
        if first > 0 and indent > first:
            raise Defer("blank lines before a block scalar's text")
        widest = max(widest, indent)
        pos = end + 1


def check_flow_keys(src: Source, nodes: yaml_json.Nodes, nid: int) -> None:
    """`check_plain_flow_key` on every plain key of flow mapping `nid`."""
    child = src.tree.first_child(nid)
    while child != _NONE:
        if not nodes.types[child] & (_KEYQUO | _KEYNIL):
            address, length = nodes.scalar(child, True)
            check_plain_flow_key(src, src.offset_of(address), length)
        child = src.tree.next_sibling(child)


def check_nodes(src: Source, nodes: yaml_json.Nodes, kind: int) -> list[tuple[int, int]]:
    """The walk's checks on the nodes of type `kind` (quoted keys, block scalar headers, `{q:}`);
    returns (id, n) for each node with n quoted scalars whose text reads as an ambiguous JSON
    string (`yaml_json.ambiguous_text`)."""
    out: list[tuple[int, int]] = []
    for nid in yaml_json.ids_of(nodes.types, kind):
        ambiguous = 0
        if kind & _KEYQUO:
            address, length = nodes.scalar(nid, True)
            check_quoted_key(src, src.offset_of(address))
            ambiguous += yaml_json.ambiguous_text(src.scalar_text(address, length))
        if kind & _VALQUO:
            address, length = nodes.scalar(nid, False)
            if kind & _BLOCK_SCALAR:
                check_header(src, src.offset_of(address))
            ambiguous += yaml_json.ambiguous_text(src.scalar_text(address, length))
        if kind & _VALNIL and not kind & _KEYQUO and nodes.parents[nid] != _NONE:
            parent = nodes.types[nodes.parents[nid]]
            if parent & _MAP and parent & _FLOW:
                address, length = nodes.scalar(nid, True)
                check_flow_null(src, src.offset_of(address), length)
        if ambiguous:
            out.append((nid, ambiguous))
    return out
