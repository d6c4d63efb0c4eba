"""The generic data analyzer: any JSON, YAML or CSV file no other analyzer claims.

A reviewer reads a settings or feature-flag file by its keys, so each changed top-level key is one
change (`features`, or `$` when the root is a list or scalar), with dotted field paths below it.
Lists of records are matched by an evident key field, so reordering keys or records is no change.
Multi-document YAML files are compared document by document (`doc[1].features`).

Also home to the tree helpers the Kubernetes and workflow analyzers share: `diff_tree` (a
`diff_values` that lists a created or deleted subtree leaf by leaf, so rules read the same paths
for a create as for an update) and the line look-ups.
"""

from __future__ import annotations

import json
from typing import Any

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.models import Change, FieldChange, FileDiff, Op
from app.core.redact import is_secret_name
from app.core.text import decode_text
from app.core.yamlsafe import YamlDocument, line_of
from app.semdiff.common.documents import Format, read_documents, structured_format
from app.semdiff.common.structure import (
    KeyChooser,
    default_list_key,
    diff_values,
    join_path,
    presence_op,
)

__all__ = ["analyze", "diff_tree", "json_key_lines", "order_change", "read_side"]

ROOT = "$"


def analyze(file: FileDiff, rule: PathRule) -> list[Change]:
    """One change per top-level key (per document) that differs between base and head."""
    del rule  # generic data has no per-path settings; `environment` is added by the dispatcher
    fmt = structured_format(file.path)
    if fmt is None:
        raise UnparseableError(
            "not a JSON, YAML or CSV file",
            file=file.path,
            hint="the data analyzer reads .json, .yaml/.yml and .csv/.tsv files",
        )
    base = read_side(file.base, fmt, file.old_path or file.path)
    head = read_side(file.head, fmt, file.path)
    base_lines = _json_lines(file.base, fmt, file.old_path or file.path)
    head_lines = _json_lines(file.head, fmt, file.path)
    count = max(len(base), len(head))
    out: list[Change] = []
    for index in range(count):
        b_doc = base[index] if index < len(base) else None
        h_doc = head[index] if index < len(head) else None
        prefix = f"doc[{index}]." if count > 1 else ""
        out.extend(_diff_document(file.path, prefix, b_doc, h_doc, base_lines, head_lines, fmt))
    out.sort(key=lambda c: (c.line or 0, c.address))
    return out


def read_side(data: bytes | None, fmt: Format, source: str) -> tuple[YamlDocument, ...]:
    """The documents of one side (none when the side does not exist), empty documents dropped."""
    if data is None:
        return ()
    return tuple(d for d in read_documents(data, fmt, source) if d.value is not None)


def _json_lines(data: bytes | None, fmt: Format, source: str) -> dict[str, int]:
    if data is None or fmt != "json":
        return {}
    return json_key_lines(decode_text(data, source))


def _diff_document(
    path: str,
    prefix: str,
    base: YamlDocument | None,
    head: YamlDocument | None,
    base_lines: dict[str, int],
    head_lines: dict[str, int],
    fmt: Format,
) -> list[Change]:
    before = base.value if base is not None else None
    after = head.value if head is not None else None
    by_key = (isinstance(before, dict) or before is None) and (
        isinstance(after, dict) or after is None
    )
    if not by_key or (before is None and after is None):
        fields = diff_tree(before, after, ROOT)
        if not fields:
            return []
        op = presence_op(before is not None, after is not None)
        doc = head if op != "delete" else base
        line = doc.line if doc is not None else None
        return [_change(path, prefix + ROOT, op, fields, line, fmt)]
    b: dict[Any, Any] = before or {}
    a: dict[Any, Any] = after or {}
    out: list[Change] = []
    for key in sorted({*b, *a}, key=str):
        name = str(key)
        fields = diff_tree(b.get(key), a.get(key), name, named=is_secret_name(name))
        op = presence_op(key in b, key in a)
        if not fields and op == "update":
            continue
        if op == "delete":
            line = line_of(base.node, (key,), key=True) if base is not None else None
            line = line or base_lines.get(name)
        else:
            line = line_of(head.node, (key,), key=True) if head is not None else None
            line = line or head_lines.get(name)
        out.append(_change(path, prefix + name, op, fields, line, fmt))
    return out


def _change(
    path: str, address: str, op: Op, fields: list[FieldChange], line: int | None, fmt: Format
) -> Change:
    return Change(
        file=path,
        kind="data",
        address=address,
        op=op,
        fields=tuple(fields),
        facts={"format": fmt},
        line=line or 1,
    )


def diff_tree(
    before: Any,
    after: Any,
    path: str = "",
    *,
    list_key: KeyChooser = default_list_key,
    secret: bool = False,
    named: bool = False,
) -> list[FieldChange]:
    """`diff_values`, with a subtree present on one side only listed leaf by leaf.

    A created `features: {checkout: {enabled: true}}` then reads `features.checkout.enabled`,
    the same path an update of that flag has. Values are already redacted by `diff_values`.
    """
    out: list[FieldChange] = []
    for change in diff_values(before, after, path, list_key=list_key, secret=secret, named=named):
        out.extend(_expand(change, list_key))
    return out


def _expand(change: FieldChange, list_key: KeyChooser) -> list[FieldChange]:
    if (change.before is None) == (change.after is None):
        return [change]
    created = change.before is None
    value = change.after if created else change.before
    children: list[tuple[str, Any]]
    if isinstance(value, dict) and value:
        children = [(join_path(change.path, str(k)), value[k]) for k in sorted(value, key=str)]
    elif isinstance(value, list) and value:
        field = list_key(change.path, value)
        keys = [i.get(field) for i in value] if field else []
        if not field or len(set(keys)) != len(keys):
            return [change]
        children = [(f"{change.path}[{k}]", item) for k, item in zip(keys, value, strict=True)]
    else:
        return [change]
    out: list[FieldChange] = []
    for child_path, child in children:
        if child is None:
            continue
        leaf = (
            FieldChange(path=child_path, before=None, after=child)
            if created
            else FieldChange(path=child_path, before=child, after=None)
        )
        out.extend(_expand(leaf, list_key))
    return out


def order_change(path: str, before: Any, after: Any, field: str) -> FieldChange | None:
    """Matching by key hides a reorder; where order runs things (workflow steps, init
    containers) a changed order of the common items is reported as `<path>.order`."""
    if not isinstance(before, list) or not isinstance(after, list):
        return None
    b = [i.get(field) for i in before if isinstance(i, dict)]
    a = [i.get(field) for i in after if isinstance(i, dict)]
    common = set(b) & set(a)
    if [k for k in b if k in common] == [k for k in a if k in common]:
        return None
    return FieldChange(path=f"{path}.order", before=b, after=a)


def json_key_lines(text: str) -> dict[str, int]:
    """The line of each top-level key of a JSON object (JSON parsers keep no positions)."""
    out: dict[str, int] = {}
    depth = 0
    line = 1
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        elif ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if depth == 1:
                k = j + 1
                while k < n and text[k] in " \t\r\n":
                    k += 1
                if k < n and text[k] == ":":
                    out.setdefault(_unquote(text[i : j + 1]), line)
            i = j
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        i += 1
    return out


def _unquote(literal: str) -> str:
    try:
        value = json.loads(literal)
    except ValueError:
        return literal.strip('"')
    return value if isinstance(value, str) else literal.strip('"')
