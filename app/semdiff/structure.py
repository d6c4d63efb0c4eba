"""Structural diff of parsed documents (dicts, lists, scalars) into FieldChanges.

Shared by every structured analyzer so that "formatting-only edits give no change" and "keyed
records match by key, never by position" hold the same way for Terraform, Kubernetes, pricing and
generic data.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

from app.models import REDACTED, FieldChange

# Keys whose values are secrets. `key` alone is too common (pricing keys, map keys) to redact.
_SECRET_NAME = re.compile(
    r"(passw(or)?d|passphrase|secret|token|credential|"
    r"(private|api|access|secret|signing|ssh|auth|encryption|master|client|license|webhook)[_-]?key)",
    re.IGNORECASE,
)
_NOT_SECRET = re.compile(
    r"(_id$|_ids$|_arn$|_name$|_ref$|_length$|_ttl$|_type$|_version$|^token_?ttl|kms|"
    r"_policy$|_enabled$|_expir|_rotation|_url$)",
    re.IGNORECASE,
)

# Fields that identify an item inside a list, in order of preference.
LIST_KEYS: tuple[str, ...] = ("name", "id", "key", "sku", "code", "plan_code", "uid", "type")

KeyChooser = Callable[[str, Sequence[Any]], str | None]


@functools.lru_cache(maxsize=8192)
def is_secret_name(name: str) -> bool:
    """True when a field name says its value is a secret (password, token, private_key…)."""
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET.search(name)


def redact(value: Any) -> Any:
    """Replace a secret value (any shape) by a marker; None stays None so create/delete shows."""
    return None if value is None else REDACTED


def redact_tree(value: Any, secret: bool = False) -> Any:
    """Copy `value` with every secret-named field (at any depth) redacted."""
    if secret:
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_tree(v, is_secret_name(str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_tree(v) for v in value]
    return value


def same(a: Any, b: Any) -> bool:
    """Semantic equality: 1 == 1.0 but True != 1; dict key order ignored; list order kept."""
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


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def diff_values(
    before: Any,
    after: Any,
    path: str = "",
    *,
    list_key: KeyChooser = default_list_key,
    secret: bool = False,
) -> list[FieldChange]:
    """Every leaf-level difference between two parsed values, secrets redacted.

    Lists of records are matched by a key field when one is evident on both sides (`items[web]`),
    otherwise compared whole (order matters for args, rules and similar lists).
    """
    if same(before, after):
        return []
    if secret:
        return [FieldChange(path=path, before=redact(before), after=redact(after))]
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[FieldChange] = []
        keys = list(before) + [k for k in after if k not in before]
        for k in sorted(keys, key=str):
            name = str(k)
            out.extend(
                diff_values(
                    before.get(k),
                    after.get(k),
                    _join(path, name),
                    list_key=list_key,
                    secret=is_secret_name(name),
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
                out.extend(diff_values(b.get(k), a.get(k), f"{path}[{k}]", list_key=list_key))
            return out
    return [FieldChange(path=path, before=redact_tree(before), after=redact_tree(after))]


def _unique(items: list[Any], field: str) -> bool:
    values = [i.get(field) for i in items]
    return len(set(values)) == len(values)
