"""Template parts of HCL strings and heredocs: literal text and `${…}`/`%{…}` markers.

Terraform applies strip markers (`${~ x ~}` trims the neighbouring literal whitespace) and, for
`<<-` heredocs, removes the common indentation; both work on this flat list of parts, the way
HCL's own parser does before it builds the template.
"""

from __future__ import annotations

from tree_sitter import Node

_MARKERS = frozenset(
    {
        "template_interpolation",
        "template_for_start",
        "template_for_end",
        "template_if_intro",
        "template_else_intro",
        "template_if_end",
    }
)

# A flattened template: literal text, or (kind, node, strip_left, strip_right) for `${…}`/`%{…}`.
Part = str | tuple[str, Node, bool, bool]


class EmptyInterpolation(Exception):
    """`${}` with nothing inside."""

    def __init__(self, node: Node) -> None:
        super().__init__("empty interpolation ${} in a template")
        self.node = node


def collect_markers(node: Node, out: list[Node]) -> None:
    for kid in node.children:
        if kid.type in _MARKERS:
            out.append(kid)
        elif kid.type in ("template_directive", "template_for", "template_if"):
            collect_markers(kid, out)


def strip_markers(marker: Node) -> tuple[bool, bool]:
    kids = marker.children
    left = len(kids) > 1 and kids[1].type == "strip_marker"
    right = len(kids) > 2 and kids[-2].type == "strip_marker"
    return left, right


def interpolated(part: Part) -> Node:
    """The expression inside a `${…}` part."""
    assert isinstance(part, tuple)
    found = next((k for k in part[1].named_children if k.type == "expression"), None)
    if found is None:
        raise EmptyInterpolation(part[1])
    return found


def single_interpolation(parts: list[Part]) -> bool:
    return (
        len(parts) == 1 and isinstance(parts[0], tuple) and parts[0][0] == "template_interpolation"
    )


def apply_strip(parts: list[Part]) -> None:
    """`${~`/`%{~` trims the whitespace before the marker, `~}` the whitespace after it."""
    for i, part in enumerate(parts):
        if isinstance(part, str):
            continue
        _, _, left, right = part
        if left and i > 0 and isinstance(parts[i - 1], str):
            parts[i - 1] = str(parts[i - 1]).rstrip()
        if right and i + 1 < len(parts) and isinstance(parts[i + 1], str):
            parts[i + 1] = str(parts[i + 1]).lstrip()


def flush(parts: list[Part]) -> list[Part]:
    """Terraform's `<<-` rule: remove, from every line, as many leading whitespace characters as
    the least indented line has (blank lines do not count; a line starting with `${` counts 0)."""
    lines: list[Part] = []
    for part in parts:
        if isinstance(part, str):
            lines.extend(part.splitlines(keepends=True))
        else:
            lines.append(part)
    indents: list[int] = []
    at_line_start: list[int] = []
    newline = True
    for i, part in enumerate(lines):
        if newline:
            newline = False
            if isinstance(part, str):
                trimmed = part.lstrip()
                if not (trimmed == "" and part.endswith("\n")):
                    indents.append(len(part) - len(trimmed))
                    at_line_start.append(i)
            else:
                indents.append(0)
        if isinstance(part, str) and part.endswith("\n"):
            newline = True
    cut = min(indents, default=0)
    for i in at_line_start:
        lines[i] = str(lines[i])[cut:]
    merged: list[Part] = []
    for part in lines:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + part
        else:
            merged.append(part)
    return merged
