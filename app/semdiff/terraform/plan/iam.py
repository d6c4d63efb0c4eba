"""IAM policy documents inside Terraform plans: decoded, matched by statement, judged for breadth.

Providers hold policy documents as JSON strings (`policy`, `assume_role_policy`…), so a plan shows
one long string changing. Decoded, they compare statement by statement (`policy.Statement[Sid]`),
and each Allow statement a plan introduces is checked for wildcards and `Not*` elements
(`facts.iam_broad_added`, read by the IAM rules).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.semdiff.common.structure import default_list_key

POLICY_KEYS = ("policy", "assume_role_policy", "policy_document", "bucket_policy", "json")


def by_sid(path: str, items: Sequence[Any]) -> str | None:
    """IAM statements match by `Sid` when every statement has one; other lists as usual."""
    if path.endswith(".Statement") and all(isinstance(i, dict) and i.get("Sid") for i in items):
        return "Sid"
    return default_list_key(path, items)


def decoded_policy(path: str, value: Any) -> Any:
    """An IAM policy document held as a JSON string, as data (statement-by-statement diffs)."""
    if not isinstance(value, str) or path.rsplit(".", 1)[-1] not in POLICY_KEYS:
        return value
    document = policy_document(value)
    return document if document is not None else value


def policy_document(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value if "Statement" in value else None
    if not isinstance(value, str) or not value.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(value)
    except ValueError:
        return None
    return document if isinstance(document, dict) and "Statement" in document else None


def broad_statements(document: dict[str, Any]) -> list[str]:
    """Why each Allow statement of an IAM policy is broad: wildcards and `NotAction`/`NotResource`."""
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    out: list[str] = []
    for index, statement in enumerate(statements if isinstance(statements, list) else []):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        label = str(statement.get("Sid") or f"#{index + 1}")
        for key in ("NotAction", "NotResource", "NotPrincipal"):
            if key in statement:
                out.append(f"{label}: {key}")
        for action in _as_list(statement.get("Action")):
            if action == "*" or action.endswith(":*"):
                out.append(f"{label}: Action {action}")
        if "*" in _as_list(statement.get("Resource")):
            out.append(f"{label}: Resource *")
        principal = statement.get("Principal")
        values = (
            _as_list(principal)
            if not isinstance(principal, dict)
            else [v for p in principal.values() for v in _as_list(p)]
        )
        if "*" in values:
            out.append(f"{label}: Principal *")
    return out


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def policy_facts(before: Any, after: Any) -> dict[str, Any]:
    """`iam_broad_added`: broad Allow statements the plan introduces (rules read this)."""

    def broad(side: Any, other: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(side, dict):
            for key in POLICY_KEYS:
                if isinstance(other, dict) and other.get(key) == side.get(key):
                    continue  # unchanged document: adds nothing
                document = policy_document(side.get(key))
                if document is not None:
                    found |= {f"{key} {why}" for why in broad_statements(document)}
        return found

    added = sorted(broad(after, before) - broad(before, after))
    return {"iam_broad_added": added} if added else {}
