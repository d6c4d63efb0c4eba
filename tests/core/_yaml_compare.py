"""Shared by the YAML differential test: how to compare the C path with the ruamel reference."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from app.core import yaml_fast, yamlsafe
from app.core.errors import UnparseableError

Lines = dict[tuple[Any, ...], int]


def node_lines(node: Node | None, path: tuple[Any, ...] = ()) -> Lines:
    """The 0-based start line of every node (and every mapping key) by positional path."""
    out: Lines = {}
    if node is None:
        return out
    out[path] = int(node.start_mark.line)
    if isinstance(node, MappingNode):
        for i, (key, value) in enumerate(node.value):
            out[(*path, i, "key")] = int(key.start_mark.line)
            out.update(node_lines(value, (*path, i)))
    elif isinstance(node, SequenceNode):
        for i, value in enumerate(node.value):
            out.update(node_lines(value, (*path, i)))
    return out


def typed(value: Any) -> Any:
    """`value` with every scalar's type spelled out: `==` holds 1 == 1.0 == True, ruamel does not."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, repr(value))


def compare(text: str, source: str = "<yaml>") -> str:
    """'fast' when the C path read `text` exactly like ruamel, 'deferred' when it handed it to
    ruamel; raise AssertionError on any difference (values, document lines, node lines)."""
    fast = yaml_fast.load(
        text, source, max_depth=yamlsafe.MAX_DEPTH, max_nodes=yamlsafe.MAX_EXPANDED_NODES
    )
    try:
        reference = yamlsafe.load_yaml_documents_reference(text, source)
    except UnparseableError as error:
        refused: UnparseableError | None = error
    else:
        refused = None
    if refused is not None:
        assert fast is None, f"{source}: the C path read what ruamel refuses ({refused}): {text!r}"
        return "deferred"
    if fast is None:
        return "deferred"
    ours_values = typed([v for v, _, _ in fast])
    assert ours_values == typed([d.value for d in reference]), f"{source}: values differ"
    assert [line for _, line, _ in fast] == [d.line for d in reference], f"{source}: doc lines"
    for index, ((_, _, node), doc) in enumerate(zip(fast, reference, strict=True)):
        ours, theirs = node_lines(node), node_lines(doc.node)
        wrong = {k: (ours.get(k), v) for k, v in theirs.items() if ours.get(k) != v}
        assert not wrong, f"{source} doc {index}: node lines (ours, ruamel) {wrong}"
    return "fast"
