"""IAM statements that let any AWS principal in (`Principal = { AWS = "*" }`), with no condition.

A trust policy open to `*` lets every AWS account assume the role; a resource policy open to `*`
lets anyone use the resource. A `Condition` (an organisation id, a source ARN, an external id)
narrows such a statement, so only unconditioned Allow statements count. Policies are read where
Terraform code holds them: `aws_iam_policy_document` `statement` blocks, JSON text and
`jsonencode({...})` in policy attributes. The fact lists the open statements the head adds
(`facts.iam_open_principal_added`, read by `terraform.iam-open-principal`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from app.core.errors import UnparseableError
from app.semdiff.terraform.parse import TfObject, parse_side

__all__ = ["open_principal_facts"]

FACT = "iam_open_principal_added"
POLICY_KEYS = frozenset(
    {"policy", "assume_role_policy", "policy_document", "bucket_policy", "access_policies", "json"}
)
_JSONENCODE = ("${jsonencode(", ")}")


def open_principal_facts(before: TfObject | None, after: TfObject | None) -> dict[str, Any]:
    """The open statements `after` has and `before` has not (by content), as readable labels."""
    old = dict(_open_statements(before))
    added = sorted({label for key, label in _open_statements(after) if key not in old})
    return {FACT: "; ".join(added)} if added else {}


def _open_statements(obj: TfObject | None) -> Iterator[tuple[str, str]]:
    """(a content key, a label) per unconditioned Allow statement open to any principal."""
    if obj is None:
        return
    if obj.block_type == "data" and obj.labels[:1] == ("aws_iam_policy_document",):
        for statement in _blocks(obj.body.get("statement")):
            if _open_hcl(statement):
                yield _key("statement", statement), _label("statement", statement, "actions")
    for name, value in obj.body.items():
        if name not in POLICY_KEYS:
            continue
        document = _document(value)
        statements = document.get("Statement") if isinstance(document, dict) else None
        for statement in _blocks(statements):
            if _open_json(statement):
                yield _key(name, statement), _label(name, statement, "Action")


def _blocks(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _open_hcl(statement: dict[str, Any]) -> bool:
    """`principals { type = "AWS" (or "*"), identifiers = ["*"] }` in an Allow statement."""
    if statement.get("effect", "Allow") != "Allow" or statement.get("condition"):
        return False
    return any(
        p.get("type") in ("AWS", "*") and "*" in _strings(p.get("identifiers"))
        for p in _blocks(statement.get("principals"))
    )


def _open_json(statement: dict[str, Any]) -> bool:
    """`"Principal": "*"` or `{"AWS": "*"}` in an Allow statement without a Condition."""
    if statement.get("Effect") != "Allow" or statement.get("Condition"):
        return False
    principal = statement.get("Principal")
    if isinstance(principal, dict):
        return "*" in _strings(principal.get("AWS")) or "*" in _strings(principal.get("*"))
    return "*" in _strings(principal)


def _document(value: Any) -> Any:
    """A policy document held as JSON text or as `jsonencode({...})`; None otherwise."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith(_JSONENCODE[0]) and text.endswith(_JSONENCODE[1]):
        return _hcl_object(text[len(_JSONENCODE[0]) : -len(_JSONENCODE[1])])
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            return None
    return None


def _hcl_object(text: str) -> Any:
    """The value of an HCL object expression, read by the same parser as the file."""
    try:
        parsed = parse_side(f"locals {{\n  document = {text}\n}}\n".encode(), "hcl", "<policy>")
    except UnparseableError:
        return None
    local = parsed.objects.get("local.document")
    return local.body.get("value") if local is not None else None


def _key(name: str, statement: dict[str, Any]) -> str:
    return f"{name}:{json.dumps(statement, sort_keys=True, default=str)}"


def _label(name: str, statement: dict[str, Any], actions: str) -> str:
    listed = ", ".join(_strings(statement.get(actions))) or "every action"
    return f"{name}: {listed} to principal *"
