"""Apply binding: the plan an apply job runs must be the plan the PR was approved with.

Compared as semantic changes, not bytes: the same resources, the same operations and the same
changed fields with the same values after redaction (a secret's value is never compared, both
sides read `<redacted>`). Facts such as the plan's digest or line numbers differ between two runs
of the same plan and are left out. What differs is listed per module directory, so the rejection
says what drifted, what the moved base added, or that the plan is from another commit.

Which apply plans count: those posted with an upload token, or by a `push` run of a workflow the
default branch's `terraform.plan_workflows` names, at the default branch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.config.repo import RepoConfig
from app.core.models import Change
from app.core.snapshot import PlanProvenance
from app.gate.plan_trust import split_workflow_ref

MAX_LISTED = 5
Signature = tuple[str, str, tuple[tuple[str, str, str], ...]]


def signature(change: Change) -> Signature:
    """(address, op, changed fields with their values as text): what must match."""
    fields = tuple(sorted((f.path, _text(f.before), _text(f.after)) for f in change.fields))
    return change.address, change.op, fields


def plan_differences(
    approved: Mapping[str, Iterable[Change]], applied: Mapping[str, Iterable[Change]]
) -> list[str]:
    """One line per directory whose applied changes differ from the approved ones (empty: equal).

    A directory applied without an approved plan differs; one approved but not applied is not
    checked (the apply job posts a plan for every directory it applies)."""
    out: list[str] = []
    for directory in sorted(applied):
        name = directory or "."
        if directory not in approved:
            out.append(f"{name}: no plan was approved for this directory")
            continue
        want = {signature(c) for c in approved[directory]}
        got = {signature(c) for c in applied[directory]}
        if want == got:
            continue
        extra = sorted(got - want)
        missing = sorted(want - got)
        parts = []
        if extra:
            parts.append("not approved: " + _listed(extra))
        if missing:
            parts.append("approved but not in the apply plan: " + _listed(missing))
        out.append(f"{name}: " + "; ".join(parts))
    return out


def apply_plan_refusal(
    provenance: PlanProvenance | None, repo: str, default_branch: str, config: RepoConfig
) -> str | None:
    """Why an apply plan does not count (None: it counts)."""
    if provenance is None or provenance.stage != "apply":
        return "not an apply plan"
    if provenance.via == "upload-token":
        return None
    named = config.terraform.plan_workflows
    for value in (provenance.job_workflow_ref, provenance.workflow_ref):
        parsed = split_workflow_ref(value) if value else None
        if parsed is None:
            continue
        where, path, ref = parsed
        if (
            where.lower() == repo.lower()
            and path in named
            and ref == f"refs/heads/{default_branch}"
        ):
            return None
    return (
        f"{provenance.label} is not a workflow of terraform.plan_workflows run at {default_branch}"
    )


def _listed(items: list[Signature]) -> str:
    shown = []
    for address, op, fields in items[:MAX_LISTED]:
        detail = ", ".join(f"{p} {b} → {a}" for p, b, a in fields[:3])
        shown.append(f"{op} {address}" + (f" ({detail})" if detail else ""))
    more = f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return "; ".join(shown) + more


def _text(value: Any) -> str:
    return "null" if value is None else str(value)
