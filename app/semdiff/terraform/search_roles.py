"""OpenSearch / Elasticsearch security roles: who gains administrator access to a search cluster.

A search domain has its own access control (the security plugin): roles grant cluster and index
permissions, role mappings give roles to IAM roles, users and backend roles. Two edits widen it:
a mapping of a built-in administrator role (`all_access`, `security_manager`) gains a member, and
a role grants every permission (`cluster_permissions = ["*"]`, or every action on index pattern
`*`). The fact lists what the head adds (`facts.search_access_added`, read by
`terraform.search-admin-access`); a mapping's role name is read on both sides, since an edit to
its members leaves the name unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from app.semdiff.terraform.parse import TfObject

__all__ = ["search_access_facts"]

FACT = "search_access_added"
MAPPINGS = frozenset({"elasticsearch_opensearch_roles_mapping", "opensearch_roles_mapping"})
ROLES = frozenset({"elasticsearch_opensearch_role", "opensearch_role"})
ADMIN_ROLES = frozenset({"all_access", "security_manager"})
MEMBER_KEYS = ("backend_roles", "users", "hosts")
ALL_CLUSTER = frozenset({"*", "cluster_all", "cluster:*"})
ALL_INDEX = frozenset({"*", "indices_all", "indices:*", "unlimited"})
# Members inside an expression (`concat(["webops", aws_iam_role.x.arn], values(y)[*].arn)`):
# quoted literals and references.
_MEMBER = re.compile(r'"((?:[^"\\]|\\.)*)"|\b((?:aws|data|local|var|module)[\w.\[\]*"-]*)')


def search_access_facts(before: TfObject | None, after: TfObject | None) -> dict[str, Any]:
    """What `after` grants beyond `before`: admin-role members and all-permission roles."""
    current = after or before
    if after is None or current is None or current.block_type != "resource":
        return {}
    kind = current.labels[0] if current.labels else ""
    if kind in MAPPINGS:
        added = sorted(_new_members(before, after))
    elif kind in ROLES:
        old = set(_wide(before))
        added = [why for why in _wide(after) if why not in old]
    else:
        return {}
    return {FACT: "; ".join(added)} if added else {}


def _new_members(before: TfObject | None, after: TfObject) -> Iterator[str]:
    role = after.body.get("role_name")
    if role not in ADMIN_ROLES:
        return
    was_admin = before is not None and before.body.get("role_name") == role
    for key in MEMBER_KEYS:
        old = _members(before.body.get(key)) if was_admin and before is not None else set()
        for member in sorted(_members(after.body.get(key)) - old):
            yield f"{role} gains {key} {member}"


def _members(value: Any) -> set[str]:
    if isinstance(value, list):
        return {v if isinstance(v, str) else str(v) for v in value}
    if isinstance(value, str):
        if not value.startswith("${"):
            return {value}
        return {literal or reference for literal, reference in _MEMBER.findall(value)}
    return set()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def _wide(obj: TfObject | None) -> Iterator[str]:
    if obj is None:
        return
    name = obj.body.get("role_name", obj.labels[-1])
    if ALL_CLUSTER & set(_strings(obj.body.get("cluster_permissions"))):
        yield f"role {name}: every cluster permission"
    blocks = obj.body.get("index_permissions")
    for block in blocks if isinstance(blocks, list) else [blocks]:
        if not isinstance(block, dict) or "*" not in _strings(block.get("index_patterns")):
            continue
        if ALL_INDEX & set(_strings(block.get("allowed_actions"))):
            yield f"role {name}: every action on every index"
