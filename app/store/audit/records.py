"""Payloads of the domain audit events, as pydantic models (validated before they are hashed).

What goes into the chain is `model_dump(mode="json")` of these, redacted (app.store.audit.chain), so
their field names are part of the export format: rename nothing without a format_version bump.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.agentops.reverts import RevertRefs
from app.core.models import Severity
from app.core.report import Finding, Tier, Waiver


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvaluationRecord(_Record):
    """One evaluation of a PR head: the report as rendered, and how it was published."""

    report: dict[str, Any]
    head_sha: str
    base_sha: str | None = None
    """The base commit the head was compared with (evidence packets show it)."""
    policy_version: str
    conclusion: str
    check_run_id: int | None = None
    api_calls: int = 0
    trace_id: str | None = None
    """Countersign's trace of this evaluation (hex), when tracing is on."""
    agent_trace_id: str | None = None
    """The agent's own trace the evaluation links to (`Agent-Trace-Parent:` trailer)."""
    observed: bool = False
    """Observe mode (`mode: observe`): the check was `neutral`, nothing requested or labelled."""
    would_conclude: str | None = None
    """In observe mode, what the gate would have concluded if enforced."""


class MergeGroupPull(_Record):
    """One PR of a merge group and its fresh evaluation."""

    number: int
    queued_head_sha: str
    head_sha: str | None = None
    conclusion: str


class MergeGroupRecord(_Record):
    """The decision on a merge queue's group head (`merge_group` event)."""

    head_sha: str
    head_ref: str
    base_sha: str
    base_ref: str
    pulls: list[MergeGroupPull]
    conclusion: str
    reason: str
    check_run_id: int | None = None


class ApprovalEventRecord(_Record):
    """A review (approval, change request or dismissal) and whether it counted, and why."""

    login: str
    teams: list[str] = Field(default_factory=list)
    state: str
    commit: str | None = None
    at: datetime
    counted: bool
    reason: str = ""


class MergeFinding(Finding):
    """A finding as recorded at merge time: the report's `Finding`, whose message older
    records may lack (the same fields, so the same JSON)."""

    message: str = ""


class MergeApproval(_Record):
    """An approval that counted at merge time."""

    login: str
    teams: list[str] = Field(default_factory=list)
    time: datetime | None = None
    commit: str | None = None


class MergeWaiver(Waiver):
    """A waiver in force at the merged head (`waiver` event): who took which rule off the tier."""

    expires_at: str


class MergeRecord(_Record):
    """A merged PR, linked to the agent run that produced it (docs/adr/0005-audit-chain.md).

    `merge_index` and `prev_merge_hash` are assigned by the store under the append lock (leave
    them unset): they make an unfiltered merge export a chain of its own, so a deleted line shows.
    """

    repo: str
    pr: int
    title: str
    url: str
    agent_id: str | None = None
    run_id: str | None = None
    author: str | None = None
    head_sha: str
    merge_commit_sha: str | None = None
    merged_by: str | None = None
    merged_at: datetime
    tier: Tier
    risk_level: Severity
    risk_score: int
    findings: list[MergeFinding] = Field(default_factory=list)
    approvals: list[MergeApproval] = Field(default_factory=list)
    check_conclusion: str | None = None
    bypass: bool = False
    policy_version: str
    plans: dict[str, str] = Field(default_factory=dict)
    """SHA-256 of the Terraform plan of each module directory the merged head was judged on."""
    merge_index: int | None = None
    prev_merge_hash: str | None = None
    run_cost_usd: str | None = None
    """The run's `Agent-Run-Cost-USD` trailer (scorecards: cost per merged change)."""
    head_first_evaluated_at: datetime | None = None
    """When the merged head was first evaluated (scorecards: approval latency)."""
    reverts: RevertRefs = Field(default_factory=RevertRefs)
    """Earlier merges this one reverts (`This reverts commit …`, `Reverts owner/repo#N`)."""
    observed: bool = False
    """Merged under observe mode: `bypass` then says whether the enforced gate would have let it."""
    break_glass: bool = False
    """Merged at a head whose check was green by break-glass (see the `break_glass` event)."""
    post_review: Literal["needed"] | None = None
    """`needed` for a break-glass merge: a human reviews it after the fact (`bypass_reviewed`)."""
    waivers: list[MergeWaiver] = Field(default_factory=list)
    """Waivers in force at the merged head: findings a named person took off its tier."""
    freeze_exception: str | None = None
    """`login: reason` of the change-freeze exception the merged head was let through with."""


# The merge record fields, in export (CSV column) order.
MERGE_FIELDS: tuple[str, ...] = tuple(MergeRecord.model_fields)


class BypassReviewRecord(_Record):
    """A console user reviewed a bypass merge after the fact (`bypass_reviewed` event)."""

    merge_seq: int
    merge_hash: str
    merged_by: str | None
    reviewer: str
    note: str = Field(min_length=1, max_length=4000)


class ChainVerifiedRecord(_Record):
    """Someone verified the whole chain (`chain_verified` event): what they found."""

    ok: bool
    count: int
    first_bad_seq: int | None
    reason: str
    by: str
