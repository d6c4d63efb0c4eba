"""Structural diff of parsed documents (dicts, lists, scalars) into FieldChanges.

Shared by every structured analyzer so that "formatting-only edits give no change" and "keyed
records match by key, never by position" hold the same way for Terraform, Kubernetes, pricing and
generic data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from app.core.models import FieldChange, Op
from app.core.redact import inherits_secret, is_secret_name, mask_secret, redact, redact_tree

# Fields that identify an item inside a list, in order of preference (`it`: a test case of
# helm-unittest and similar suites, named by what it checks).
LIST_KEYS: tuple[str, ...] = ("name", "id", "key", "sku", "code", "plan_code", "uid", "type", "it")

KeyChooser = Callable[[str, Sequence[Any]], str | None]
T = TypeVar("T")


def unmatched_by_key(
    base: Sequence[T], head: Sequence[T], key: Callable[[T], Hashable]
) -> tuple[list[T], list[T]]:
    """Items of `head` with no equal-keyed partner in `base` (added, in head order), and items
    of `base` with none in `head` (removed, in base order), counting repeats: of a statement
    written twice and kept once, the *last* copy is the removed one."""
    unmatched = Counter(key(item) for item in base)
    added: list[T] = []
    for item in head:
        if unmatched[key(item)] > 0:
            unmatched[key(item)] -= 1
        else:
            added.append(item)
    removed: list[T] = []
    for item in reversed(base):
        if unmatched[key(item)] > 0:
            unmatched[key(item)] -= 1
            removed.append(item)
    return added, removed[::-1]


def presence_op(in_before: bool, in_after: bool) -> Op:
    """The op of a keyed item from which sides have it: absent before is a create, absent
    after a delete, on both an update (which may still turn out to change nothing)."""
    if not in_before:
        return "create"
    if not in_after:
        return "delete"
    return "update"


def same(a: Any, b: Any) -> bool:
    """Semantic equality: 1 == 1.0 but True != 1; dict key order ignored; list order kept.

    Two large documents read from almost the same text are mostly equal subtrees: `==` and
    `repr` compare those at C speed (equal reprs mean equal types and values, key order
    included), and only what differs is walked.
    """
    if type(a) is type(b) and type(a) in (dict, list) and a == b and repr(a) == repr(b):
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def default_list_key(_path: str, items: Sequence[Any]) -> str | None:
    """The first field of LIST_KEYS that every item (of both sides) has as a scalar.

    Uniqueness is checked per side by `diff_values`: the same key on both sides is the normal case.
    """
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for field in LIST_KEYS:
        values = [i.get(field) for i in items]
        if all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
            return field
    return None


def join_path(path: str, part: str) -> str:
    """The field path of `part` below `path` (`spec.replicas`; at the root, `part` alone)."""
    return f"{path}.{part}" if path else part


def diff_values(
    before: Any,
    after: Any,
    path: str = "",
    *,
    list_key: KeyChooser = default_list_key,
    secret: bool = False,
    named: bool = False,
) -> list[FieldChange]:
    """Every leaf-level difference between two parsed values, secrets redacted.

    `secret` hides every value below `path` (a Kubernetes Secret's data, a `sensitive` value);
    `named` says `path` is a secret-named field, whose literal values are hidden (app.core.redact).

    Lists of records are matched by a key field when one is evident on both sides (`items[web]`),
    otherwise compared whole (order matters for args, rules and similar lists).
    """
    if same(before, after):
        return []
    if secret:
        return [FieldChange(path=path, before=redact(before), after=redact(after))]
    both_dicts = isinstance(before, dict) and isinstance(after, dict)
    if named and not both_dicts:
        return [FieldChange(path=path, before=mask_secret(before), after=mask_secret(after))]
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[FieldChange] = []
        keys = list(before) + [k for k in after if k not in before]
        for k in sorted(keys, key=str):
            name = str(k)
            out.extend(
                diff_values(
                    before.get(k),
                    after.get(k),
                    join_path(path, name),
                    list_key=list_key,
                    named=is_secret_name(name) or (named and inherits_secret(name)),
                )
            )
        return out
    if isinstance(before, list) and isinstance(after, list):
        field = list_key(path, before + after)
        if field and _unique(before, field) and _unique(after, field):
            b = {i[field]: i for i in before}
            a = {i[field]: i for i in after}
            out = []
            for k in list(b) + [k for k in a if k not in b]:
                out.extend(
                    diff_values(b.get(k), a.get(k), f"{path}[{k}]", list_key=list_key, named=named)
                )
            return out
    if named:
        return [FieldChange(path=path, before=mask_secret(before), after=mask_secret(after))]
    return [FieldChange(path=path, before=redact_tree(before), after=redact_tree(after))]


def _unique(items: list[Any], field: str) -> bool:
    values = [i.get(field) for i in items]
    return len(set(values)) == len(values)
