"""Reading the layout around a masked template action: which lines a YAML or SQL parser will
see as list items, mapping keys, block text or statement ends (helpers of `templating`).
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "MARK",
    "entry_form",
    "in_block_scalar",
    "indent_of",
    "key_follows",
    "statement_boundary",
    "without_markers",
]

MARK = "\x00"
"""Stands in for an action inside a line while the masker rewrites it."""


def without_markers(line: str) -> str:
    return "".join(line.split(MARK)[0::2])


def indent_of(line: str) -> int:
    """Spaces before the first character of `line`."""
    return len(line) - len(line.lstrip(" "))


def statement_boundary(lines: list[str], number: int) -> bool:
    """Whether the SQL before line `number` ends a statement (or there is none)."""
    for index in range(number - 1, -1, -1):
        content = without_markers(lines[index]).strip()
        if content and not content.startswith("--"):
            return content.endswith(";")
    return True


def in_block_scalar(lines: list[str], number: int, indent: int) -> bool:
    """Whether line `number` sits inside a `key: |` / `key: >-` block of text."""
    for index in range(number - 1, -1, -1):
        raw = lines[index]
        content = without_markers(raw).strip()
        if not content or indent_of(raw) >= indent:
            continue
        return content.rstrip("-+0123456789").endswith(("|", ">"))
    return False


def entry_form(lines: list[str], number: int, indent: int) -> Literal["list", "map"]:
    """Whether siblings at `indent` around line `number` are list items or mapping entries."""
    for step in (-1, 1):
        index = number + step
        nearest = True
        while 0 <= index < len(lines):
            raw = lines[index]
            content = without_markers(raw).strip()
            index += step
            if not content or content.startswith("#"):
                continue
            column = indent_of(raw)
            parent = raw.rstrip().endswith(":") and not content.startswith("-")
            if step < 0 and nearest and column == indent and parent:
                break  # `args:` right above, its list at the same indentation: the parent
            nearest = False
            if column == indent:
                return "list" if content == "-" or content.startswith("- ") else "map"
            if content.startswith("- ") and column + 2 == indent:
                return "map"  # the first key of a list item is a mapping sibling
            if column < indent:
                break
    return "map"


_KEY = re.compile(r"^[^\s#\-\[{][^:]*:(\s|$)")


def key_follows(lines: list[str], number: int, column: int) -> bool:
    """Whether the next line with text is a mapping key at `column` (an item's next key)."""
    for raw in lines[number + 1 :]:
        content = without_markers(raw).strip()
        if not content or content.startswith("#"):
            continue
        return indent_of(raw) == column and bool(_KEY.match(content))
    return False
