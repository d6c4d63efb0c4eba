"""Fields of a Helm template that render only when a value enables them.

A chart wraps optional settings in `{{ if .Values.x }}` … `{{ end }}`. Such a field is what the
chart offers, not what every release runs, so privilege facts read with and without those
fields: a privilege that exists only inside a condition is reported as conditional. A condition
around the whole object (`{{ if .Values.enabled }}` at the top of the file) decides whether the
object exists, not what it runs with, so it does not make its fields conditional.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

__all__ = ["Path", "conditional_paths", "without"]

Path = tuple[str | int, ...]


def conditional_paths(
    node: Node | None, blocks: Sequence[tuple[int, int]], root: int
) -> frozenset[Path]:
    """Paths of the object at line `root` whose key sits inside a condition not around `root`."""
    inner = [(lo, hi) for lo, hi in blocks if not lo <= root <= hi]
    if node is None or not inner:
        return frozenset()
    out: set[Path] = set()
    stack: list[tuple[Node, Path]] = [(node, ())]
    while stack:
        current, path = stack.pop()
        children: list[tuple[Node, str | int, Node]]
        if isinstance(current, MappingNode):
            children = [(k, str(k.value), v) for k, v in current.value]
        elif isinstance(current, SequenceNode):
            children = [(v, i, v) for i, v in enumerate(current.value)]
        else:
            continue
        for anchor, part, child in children:
            line = anchor.start_mark.line + 1
            if any(lo <= line <= hi for lo, hi in inner):
                out.add((*path, part))
            else:
                stack.append((child, (*path, part)))
    return frozenset(out)


def without(body: Any, paths: frozenset[Path]) -> Any:
    """`body` with the given paths left out (a copy; the body itself is not changed)."""
    if not paths:
        return body
    return _drop(body, paths, ())


def _drop(value: Any, paths: frozenset[Path], path: Path) -> Any:
    if isinstance(value, dict):
        return {
            k: _drop(v, paths, (*path, str(k)))
            for k, v in value.items()
            if (*path, str(k)) not in paths
        }
    if isinstance(value, list):
        return [_drop(v, paths, (*path, i)) for i, v in enumerate(value) if (*path, i) not in paths]
    return value
