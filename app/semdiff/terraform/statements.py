"""IAM policy statements compared one by one, so an unchanged wildcard is not reported again.

An `aws_iam_policy_document` holds its statements as repeated `statement` blocks: a list whose
items have no name unless the author set a `sid`. Compared as one field, any edit to one
statement re-reports every other statement of the policy (an untouched `s3:*` becomes a new
finding when a condition elsewhere changes). Statements match by `sid` when every statement on
both sides has a distinct one, otherwise by content: identical statements drop out wherever
they moved, and what is left pairs in order (`statement[#2]`, the head position).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.core.models import FieldChange
from app.semdiff.common.structure import same

__all__ = ["diff_statements", "is_statement_path"]

Recurse = Callable[[Any, Any, str], list[FieldChange]]
STATEMENT_KEYS = frozenset({"statement", "Statement"})


def is_statement_path(path: str) -> bool:
    """Whether `path` names a policy's statements (`statement`, `policy.Statement`)."""
    return path.rsplit(".", 1)[-1] in STATEMENT_KEYS


def diff_statements(
    before: Any, after: Any, path: str, recurse: Recurse
) -> list[FieldChange] | None:
    """Per-statement changes, or None when the values are not statement lists on both sides."""
    b, a = _items(before), _items(after)
    if b is None or a is None:
        return None
    sid = _sid_key(b) if b else None
    if sid is not None and a and _sid_key(a) == sid:
        return _by_sid(b, a, path, sid, recurse)
    if sid is not None and not a:
        return _by_sid(b, a, path, sid, recurse)
    return _by_content(b, a, path, recurse)


def _items(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(i, dict) for i in value):
        return list(value)
    return None


def _sid_key(items: list[dict[str, Any]]) -> str | None:
    for key in ("sid", "Sid"):
        values = [i.get(key) for i in items]
        if all(isinstance(v, str) and v for v in values) and len(set(values)) == len(values):
            return key
    return None


def _by_sid(
    b: list[dict[str, Any]], a: list[dict[str, Any]], path: str, key: str, recurse: Recurse
) -> list[FieldChange]:
    before = {i[key]: i for i in b}
    after = {i[key]: i for i in a}
    out: list[FieldChange] = []
    for sid in [*before, *(s for s in after if s not in before)]:
        out.extend(recurse(before.get(sid), after.get(sid), f"{path}[{sid}]"))
    return out


def _by_content(
    b: list[dict[str, Any]], a: list[dict[str, Any]], path: str, recurse: Recurse
) -> list[FieldChange]:
    left = list(enumerate(b))
    added: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(a):
        twin = next((n for n, (_, old) in enumerate(left) if same(old, item)), None)
        if twin is None:
            added.append((index, item))
        else:
            del left[twin]
    out: list[FieldChange] = []
    for n in range(max(len(left), len(added))):
        old = left[n][1] if n < len(left) else None
        new = added[n][1] if n < len(added) else None
        index = added[n][0] if n < len(added) else left[n][0]
        out.extend(recurse(old, new, f"{path}[#{index + 1}]"))
    return out
