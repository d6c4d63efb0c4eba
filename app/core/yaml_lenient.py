"""Where rapidyaml reads more than ruamel does: the checks that send such text to ruamel.

Each was found by the differential fuzzing (`tests/core/test_yaml_differential.py::KNOWN`) and
is made on the bytes around one scalar, by its byte offset in the source (ADR 0009).
"""

from __future__ import annotations

import re

from app.core.yaml_nodes import Source

__all__ = ["Defer", "check_flow_null", "check_header", "check_quoted_key"]


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
    if quote == b"'":
        match = re.match(rb"(?:[^']|'')*'", line)
    elif quote == b'"':
        match = re.match(rb'(?:[^"\\]|\\.)*"', line)
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
