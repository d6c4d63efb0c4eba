"""What a reviewer must see first: findings by severity, changes by how much attention they need.

A PR that deletes a production database alongside thirty runbook edits must show the delete at
the top, not after thirty `info` lines. Pure functions over the report; `render` lays them out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import IntEnum

from app.core.models import SEVERITIES, Change
from app.core.report import Finding

_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}
DESTRUCTIVE_OPS = frozenset({"delete", "replace"})
_ACCESS_WORDS = re.compile(
    r"permission|privilege|rbac|cluster_admin|public|expos|ingress|egress|cidr|service_type"
    r"|acl|iam|principal|role|security_group|firewall|secret|sensitive",
    re.IGNORECASE,
)


class Attention(IntEnum):
    """Why a change row sits where it does in the changes table (lower comes first)."""

    DESTRUCTIVE = 0
    ACCESS = 1
    PRICE = 2
    RISKY = 3
    ROUTINE = 4


def findings_by_severity(findings: Iterable[Finding]) -> list[Finding]:
    """Critical first, then by file, line and rule (stable for equal keys)."""
    return sorted(
        findings,
        key=lambda f: (-_SEVERITY_RANK[f.severity], f.file or "", f.line or 0, f.rule),
    )


def _truthy(value: object) -> bool:
    return value not in (None, False, "", 0) and value != [] and value != {}


def touches_access(change: Change) -> bool:
    """A permission or exposure change: a fact or field whose name says so (e.g. workflow
    `permissions`, Kubernetes RBAC, a public bucket, a Service type, an ingress CIDR)."""
    if any(_ACCESS_WORDS.search(k) and _truthy(v) for k, v in change.facts.items()):
        return True
    return any(_ACCESS_WORDS.search(f.path) for f in change.fields)


def has_price_delta(change: Change) -> bool:
    facts = change.facts
    return facts.get("price_delta_pct") is not None or _truthy(facts.get("prices"))


def _risky_keys(findings: Sequence[Finding]) -> tuple[set[tuple[str, str]], set[str]]:
    """(file, address) pairs and whole files that carry a finding above `info`."""
    by_object: set[tuple[str, str]] = set()
    by_file: set[str] = set()
    for f in findings:
        if f.severity == "info" or not f.file:
            continue
        if f.address and f.address != f.file:
            by_object.add((f.file, f.address))
        else:
            by_file.add(f.file)
    return by_object, by_file


def attention(change: Change, risky: tuple[set[tuple[str, str]], set[str]]) -> Attention:
    if change.op in DESTRUCTIVE_OPS:
        return Attention.DESTRUCTIVE
    if touches_access(change):
        return Attention.ACCESS
    if has_price_delta(change):
        return Attention.PRICE
    by_object, by_file = risky
    if (change.file, change.address) in by_object or change.file in by_file:
        return Attention.RISKY
    return Attention.ROUTINE


def changes_by_attention(
    changes: Iterable[Change], findings: Sequence[Finding]
) -> list[tuple[Attention, Change]]:
    """Each change with its attention class, most urgent first, then by file, line, address."""
    risky = _risky_keys(findings)
    ranked = [(attention(c, risky), c) for c in changes]
    return sorted(ranked, key=lambda rc: (rc[0], rc[1].file, rc[1].line or 0, rc[1].address))
