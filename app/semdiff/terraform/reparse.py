"""Incremental re-parsing: the head side of a file reuses the tree of its base side.

A pull request changes a few blocks of a large module; tree-sitter re-parses only what an edit
touches when it is told which byte ranges changed. We find the edits by locating the base's
top-level chunks (a block and the blank lines and comments after it) in the head text, in order;
what lies between matched chunks is one edit. Any edit list that transforms the old text into the
new one gives the same tree as a full parse, so a poor match costs speed, never correctness.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Tree


@dataclass(frozen=True, slots=True)
class Edit:
    """Old bytes [old_start, old_end) became new bytes [new_start, new_end)."""

    old_start: int
    old_end: int
    new_start: int
    new_end: int


def find_edits(old: bytes, new: bytes, chunks: list[tuple[int, int]]) -> list[Edit]:
    """Edits turning `old` into `new`, given `old`'s top-level chunks (contiguous ranges)."""
    edits: list[Edit] = []
    old_pos = new_pos = 0
    for start, end in chunks:
        found = new.find(old[start:end], new_pos)
        if found < 0:
            continue
        if old_pos != start or new_pos != found:
            edits.append(Edit(old_pos, start, new_pos, found))
        old_pos, new_pos = end, found + (end - start)
    if old_pos != len(old) or new_pos != len(new):
        edits.append(Edit(old_pos, len(old), new_pos, len(new)))
    return edits


def apply_edits(tree: Tree, old: bytes, new: bytes, edits: list[Edit]) -> None:
    """Tell `tree` (parsed from `old`) about `edits`, in order, so it can be re-parsed as `new`."""
    row, row_start, counted = 0, 0, 0  # row of new[counted], and the byte where that row starts
    for edit in edits:
        start = edit.new_start
        row += new.count(b"\n", counted, start)
        last = new.rfind(b"\n", counted, start)
        if last >= 0:
            row_start = last + 1
        counted = start
        start_point = (row, start - row_start)
        removed = old[edit.old_start : edit.old_end]
        old_end_point = _advance(start_point, removed)
        new_end_point = _advance(start_point, new[start : edit.new_end])
        old_end = start + len(removed)
        tree.edit(start, old_end, edit.new_end, start_point, old_end_point, new_end_point)


def _advance(point: tuple[int, int], text: bytes) -> tuple[int, int]:
    lines = text.count(b"\n")
    if lines == 0:
        return point[0], point[1] + len(text)
    return point[0] + lines, len(text) - text.rfind(b"\n") - 1


def chunks_of(tree: Tree, size: int) -> list[tuple[int, int]]:
    """Contiguous ranges covering the text: each top-level item with what follows it."""
    root = tree.root_node
    body = next((k for k in root.children if k.type == "body"), None)
    if body is None:
        return [(0, size)] if size else []
    starts = [k.start_byte for k in body.children]
    if not starts:
        return [(0, size)]
    starts[0] = 0
    ends = [*starts[1:], size]
    return list(zip(starts, ends, strict=True))
