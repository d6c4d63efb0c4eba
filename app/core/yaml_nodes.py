"""Lazy ruamel-shaped nodes over a rapidyaml tree, for line look-ups (`yamlsafe.line_of`).

The analyzers find a finding's line by walking `MappingNode`/`SequenceNode`/`ScalarNode` and
reading `start_mark.line`. Building those nodes for every scalar of a 5 MB CRD would cost what
the C parser saved, so these subclasses build their children only when asked, and a line only
when read. A line comes from the byte offset of the scalar rapidyaml points at (it parses in
place, so a scalar is a view into our buffer). Where the offset does not say where ruamel's
node starts (an empty flow collection, a sequence item on the line after its dash, an empty
value), the line is read from the ruamel reference for that document instead, never guessed.
"""

from __future__ import annotations

import bisect
import ctypes
import re
from typing import Any

import ryml
from ruamel.yaml import YAML
from ruamel.yaml.error import StreamMark
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["Source", "node_for"]

_MAP, _SEQ = ryml.MAP, ryml.SEQ
_KEYNIL, _VALNIL = ryml.KEYNIL, ryml.VALNIL
_BLOCK_SCALAR = ryml.VAL_LITERAL | ryml.VAL_FOLDED
_FLOW = ryml.FLOW_SL | ryml.FLOW_ML


class _PyBuffer(ctypes.Structure):
    """CPython's `Py_buffer` (stable ABI), to read where a memoryview points."""

    _fields_ = (
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    )


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = (ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int)
_get_buffer.restype = ctypes.c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = (ctypes.POINTER(_PyBuffer),)
_release_buffer.restype = None


def _address(view: memoryview) -> int | None:
    info = _PyBuffer()
    if _get_buffer(view, ctypes.byref(info), 0) != 0:  # pragma: no cover - memoryviews export
        return None
    try:
        return int(info.buf) if info.buf else None
    finally:
        _release_buffer(ctypes.byref(info))


class Source:
    """One parsed text: the rapidyaml tree, the buffer it points into, and line arithmetic."""

    def __init__(
        self, tree: ryml.Tree, buffer: bytearray, original: bytes, text: str, name: str
    ) -> None:
        self.tree, self.buffer, self.original, self.text, self.name = (
            tree,
            buffer,
            original,
            text,
            name,
        )
        self.base = ctypes.addressof(ctypes.c_char.from_buffer(buffer))
        self._newlines: list[int] | None = None
        self._lookups = 0
        self._reference: list[Node] | None = None
        self.last_doc = -1  # the rapidyaml id of the stream's last document

    def line(self, offset: int) -> int:
        """0-based line of a byte offset: counted for the first few look-ups (most files need
        one or two), then from an index of line starts."""
        if self._newlines is None:
            self._lookups += 1
            if self._lookups <= 8:
                return self.original.count(b"\n", 0, offset)
            self._newlines = [m.start() for m in re.finditer(b"\n", self.original)]
        return bisect.bisect_left(self._newlines, offset)

    def scalar_text(self, address: int, length: int) -> bytes:
        """A scalar's bytes from its address (in our buffer, or rapidyaml's arena)."""
        offset = address - self.base
        if 0 <= offset <= len(self.buffer) - length:
            return bytes(self.buffer[offset : offset + length])
        return ctypes.string_at(address, length) if address and length else b""

    def offset_of(self, address: int) -> int | None:
        """Byte offset of a scalar's address inside the buffer (None when it is elsewhere)."""
        offset = address - self.base
        return offset if 0 <= offset <= len(self.buffer) else None

    def offset(self, view: memoryview) -> int | None:
        """Byte offset of a scalar view inside the buffer (None when it points elsewhere)."""
        address = _address(view)
        if address is None:
            return None
        offset = address - self.base
        return offset if 0 <= offset <= len(self.buffer) else None

    def reference_line(self, doc: int, path: tuple[int, ...], key: bool) -> int | None:
        """The ruamel reference's 0-based line for the node at positional `path` of `doc`."""
        if self._reference is None:
            self._reference = [
                n for n in YAML(typ="safe", pure=True).compose_all(self.text) if n is not None
            ]
        node: Any = self._reference[doc] if doc < len(self._reference) else None
        for depth, position in enumerate(path):
            if isinstance(node, MappingNode):
                pair = node.value[position]
                node = pair[0] if key and depth == len(path) - 1 else pair[1]
            elif isinstance(node, SequenceNode):
                node = node.value[position]
            else:
                return None
        return int(node.start_mark.line) if node is not None else None


def _skip_back(data: bytes, offset: int, spaces: bytes) -> int:
    while offset > 0 and data[offset - 1 : offset] in spaces:
        offset -= 1
    return offset


def _start(src: Source, nid: int) -> int | None:
    """Byte offset where ruamel's node for `nid` starts (its line is what matters), or None."""
    tree, data = src.tree, src.original
    kind = tree.type(nid)
    if not kind & (_MAP | _SEQ):
        if kind & _VALNIL:
            return None
        offset = src.offset(tree.val(nid))
        if offset is not None and kind & _BLOCK_SCALAR:  # the `|`/`>` header is a line above
            return offset - 1 if offset > 0 and data[offset - 1 : offset] == b"\n" else None
        return offset
    child = tree.first_child(nid)
    if child == _NONE:
        return None
    first = _key_start(src, child) if kind & _MAP else _start(src, child)
    if first is None:
        return None
    if kind & _FLOW:
        before = _skip_back(data, first, b" \r\n")
        opener = b"{" if kind & _MAP else b"["
        return before - 1 if before > 0 and data[before - 1 : before] == opener else None
    if kind & _SEQ:
        before = _skip_back(data, first, b" ")
        return before - 1 if before > 0 and data[before - 1 : before] == b"-" else None
    return first


def _key_start(src: Source, nid: int) -> int | None:
    if src.tree.type(nid) & _KEYNIL:
        return None
    return src.offset(src.tree.key(nid))


_NONE = ryml.NONE


class _Lazy:
    """What every lazy node knows: its source, document, rapidyaml id and positional path."""

    _src: Source
    _doc: int
    _id: int
    _path: tuple[int, ...]
    _is_key: bool
    anchor: Any
    comment: Any
    end_mark: Any

    def _init(self, src: Source, doc: int, nid: int, path: tuple[int, ...], is_key: bool) -> None:
        self._src, self._doc, self._id, self._path, self._is_key = src, doc, nid, path, is_key
        self.anchor = self.comment = self.end_mark = None  # no anchors here (those defer)

    @property
    def start_mark(self) -> StreamMark:
        src = self._src
        offset = _key_start(src, self._id) if self._is_key else _start(src, self._id)
        if offset is None and self._id == src.last_doc and src.tree.type(self._id) & _VALNIL:
            offset = len(src.original)  # an empty last document (`---` at the end) starts at EOF
        if offset is not None:
            line: int | None = src.line(offset)
        else:
            line = src.reference_line(self._doc, self._path, self._is_key)
        return StreamMark(src.name, offset or 0, line if line is not None else 0, 0)


class FastScalar(_Lazy, ScalarNode):
    """A scalar (key or value); `.value` is its text as written, as ruamel's node holds it."""

    def __init__(self, src: Source, doc: int, nid: int, path: tuple[int, ...], is_key: bool):
        self._init(src, doc, nid, path, is_key)

    @property
    def value(self) -> str:
        tree = self._src.tree
        if self._is_key:
            return "" if tree.type(self._id) & _KEYNIL else str(tree.key(self._id), "utf-8")
        return "" if tree.type(self._id) & _VALNIL else str(tree.val(self._id), "utf-8")

    @property  # type: ignore[misc]
    def tag(self) -> str:
        return "tag:yaml.org,2002:str"


class FastMapping(_Lazy, MappingNode):
    """A mapping whose (key, value) node pairs are built when first read."""

    def __init__(self, src: Source, doc: int, nid: int, path: tuple[int, ...]):
        self._init(src, doc, nid, path, False)

    @property
    def value(self) -> list[tuple[Node, Node]]:
        out: list[tuple[Node, Node]] = []
        for position, child in enumerate(ryml.children(self._src.tree, self._id)):
            path = (*self._path, position)
            key = FastScalar(self._src, self._doc, child, path, True)
            out.append((key, node_for(self._src, child, self._doc, path)))
        return out

    @property  # type: ignore[misc]
    def tag(self) -> str:
        return "tag:yaml.org,2002:map"


class FastSequence(_Lazy, SequenceNode):
    """A sequence whose item nodes are built when first read."""

    def __init__(self, src: Source, doc: int, nid: int, path: tuple[int, ...]):
        self._init(src, doc, nid, path, False)

    @property
    def value(self) -> list[Node]:
        return [
            node_for(self._src, child, self._doc, (*self._path, position))
            for position, child in enumerate(ryml.children(self._src.tree, self._id))
        ]

    @property  # type: ignore[misc]
    def tag(self) -> str:
        return "tag:yaml.org,2002:seq"


def node_for(src: Source, nid: int, doc: int, path: tuple[int, ...]) -> Node:
    """The lazy node for rapidyaml node `nid` (document `doc`, positional `path`)."""
    kind = src.tree.type(nid)
    if kind & _MAP:
        return FastMapping(src, doc, nid, path)
    if kind & _SEQ:
        return FastSequence(src, doc, nid, path)
    return FastScalar(src, doc, nid, path, False)
