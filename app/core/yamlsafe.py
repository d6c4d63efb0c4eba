"""Safe YAML loading with caps, shared by every YAML reader (manifests, config, rules).

One loader for the whole product: ruamel.yaml's safe loader (YAML 1.2, so `yes` stays a string and
`0755` is an integer, as Kubernetes reads it). Anchors and aliases are allowed but the *expanded*
size of every document is capped, so a "billion laughs" file is refused instead of exhausting
memory when it is walked; unknown tags (CloudFormation `!Ref`, `!!python/...`) are refused, never
executed; MkDocs's `!ENV` and `!relative` are read as the text written. Trailing tabs are white
space, as YAML 1.2 and kubectl read them (`yaml_whitespace`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.constructor import ConstructorError, SafeConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.core import yaml_fast
from app.core.errors import UnparseableError
from app.core.text import decode_text
from app.core.yaml_whitespace import reference_yaml

# YAML 1.1's "value" key type resolves a plain `=` to `tag:yaml.org,2002:value`, which the safe
# constructor then refuses; in YAML 1.2 (and to Kubernetes) `=` is just a string. Real CRDs carry
# it (an enum of operators), so read it as the string it is.
SafeConstructor.add_constructor(
    "tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node)
)


def _tagged_text(loader: SafeConstructor, node: Node) -> str:
    """A configuration tag read as the text it is written as (`!ENV [SITE_URL, x]`)."""
    if isinstance(node, ScalarNode):
        return f"{node.tag} {node.value}".rstrip()
    if isinstance(node, SequenceNode):
        items = ", ".join(str(i.value) for i in node.value if isinstance(i, ScalarNode))
        return f"{node.tag} [{items}]"
    raise ConstructorError(None, None, f"tag {node.tag} on a mapping", node.start_mark)


# Tags of configuration tools that substitute a value at load time (MkDocs's `!ENV` environment
# variables and `!relative` paths): read as the text written, never resolved or executed. Other
# unknown tags (CloudFormation's `!Ref`, `!!python/...`) are still refused.
for _tag in ("!ENV", "!relative"):
    SafeConstructor.add_constructor(_tag, _tagged_text)

MAX_YAML_BYTES = 10 * 1024 * 1024
MAX_EXPANDED_NODES = 1_000_000
MAX_DEPTH = 200


@dataclass(frozen=True)
class YamlDocument:
    """One document: its value, its first line (1-based) and its node (for line look-ups)."""

    value: Any
    line: int
    node: Node | None


def _expanded_size(node: Node, memo: dict[int, int], depth: int, source: str) -> int:
    key = id(node)
    if key in memo:
        if memo[key] < 0:
            raise UnparseableError("recursive YAML alias", file=source)
        return memo[key]
    if depth > MAX_DEPTH:
        raise UnparseableError(f"YAML nested deeper than {MAX_DEPTH} levels", file=source)
    memo[key] = -1
    size = 1
    if isinstance(node, SequenceNode):
        for child in node.value:
            size += _expanded_size(child, memo, depth + 1, source)
    elif isinstance(node, MappingNode):
        for k, v in node.value:
            size += _expanded_size(k, memo, depth + 1, source)
            size += _expanded_size(v, memo, depth + 1, source)
    memo[key] = size
    if size > MAX_EXPANDED_NODES:
        raise UnparseableError(
            f"YAML expands to more than {MAX_EXPANDED_NODES:,} nodes (alias bomb?)",
            file=source,
            line=node.start_mark.line + 1,
        )
    return size


def _decode(data: bytes | str, source: str) -> str:
    if isinstance(data, str):
        return data
    if len(data) > MAX_YAML_BYTES:
        raise UnparseableError(f"YAML file larger than {MAX_YAML_BYTES:,} bytes", file=source)
    return decode_text(data, source)


def load_yaml_documents(data: bytes | str, source: str = "<yaml>") -> list[YamlDocument]:
    """Parse every document of a YAML stream; raise UnparseableError (with line) on bad input.

    The C parser (`yaml_fast`, rapidyaml) reads what it reads exactly like ruamel; anything
    else, errors included, is read by the ruamel reference below.
    """
    text = _decode(data, source)
    if len(text) > MAX_YAML_BYTES:
        raise UnparseableError(f"YAML file larger than {MAX_YAML_BYTES:,} bytes", file=source)
    fast = yaml_fast.load(text, source, max_depth=MAX_DEPTH, max_nodes=MAX_EXPANDED_NODES)
    if fast is not None:
        return [YamlDocument(value=v, line=line, node=node) for v, line, node in fast]
    return load_yaml_documents_reference(text, source)


def load_yaml_documents_reference(data: bytes | str, source: str = "<yaml>") -> list[YamlDocument]:
    """The reference reading (ruamel, pure Python): what the C path must equal, and its fallback."""
    text = _decode(data, source)
    if len(text) > MAX_YAML_BYTES:
        raise UnparseableError(f"YAML file larger than {MAX_YAML_BYTES:,} bytes", file=source)
    yaml = reference_yaml()
    docs: list[YamlDocument] = []
    try:
        for node in yaml.compose_all(text):
            if node is None:
                continue
            _expanded_size(node, {}, 0, source)
            value = yaml.constructor.construct_document(node)
            docs.append(YamlDocument(value=value, line=node.start_mark.line + 1, node=node))
    except UnparseableError:
        raise
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UnparseableError(f"invalid YAML: {problem}", file=source, line=line) from exc
    except RecursionError as exc:
        raise UnparseableError("YAML nested too deeply", file=source) from exc
    except TypeError as exc:  # ruamel's constructor on a collection used as a key (`? {a: 1}`)
        raise UnparseableError(
            "a mapping or list used as a mapping key", file=source, hint="use a string key"
        ) from exc
    return docs


def load_yaml(data: bytes | str, source: str = "<yaml>") -> Any:
    """Parse a single-document YAML file (None when empty)."""
    docs = load_yaml_documents(data, source)
    if len(docs) > 1:
        raise UnparseableError(
            "expected one YAML document, found several", file=source, line=docs[1].line
        )
    return docs[0].value if docs else None


def _walk(node: Node | None, path: Sequence[Any]) -> tuple[Node | None, Node | None]:
    """The node at `path` (mapping keys / sequence indexes) and the key node naming it (None
    for the root and for a list item)."""
    current, key = node, None
    for part in path:
        if isinstance(current, MappingNode):
            for k, v in current.value:
                if isinstance(k, ScalarNode) and k.value == str(part):
                    current, key = v, k
                    break
            else:
                return None, None
        elif isinstance(current, SequenceNode) and isinstance(part, int):
            if part >= len(current.value):
                return None, None
            current, key = current.value[part], None
        else:
            return None, None
    return current, key


def node_at(node: Node | None, path: Sequence[Any]) -> Node | None:
    """The node at `path` inside `node` (mapping keys / sequence indexes), or None."""
    return _walk(node, path)[0]


def line_of(node: Node | None, path: Sequence[Any], *, key: bool = False) -> int | None:
    """The 1-based line where `path` (mapping keys / sequence indexes) starts inside `node`:
    its value's line, or with `key` the line of the mapping key naming it (where a finding
    points; a list item has no key, so its own line). The one YAML node→line walker."""
    value, key_node = _walk(node, path)
    found = key_node if key and key_node is not None else value
    return int(found.start_mark.line) + 1 if found is not None else None
