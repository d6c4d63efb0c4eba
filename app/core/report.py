"""The report (docs/adr/0002-report-contract.md, `schema_version: 1`): what `analyze`, `POST /api/analyze` and the check run show."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.models import Change, Severity

Tier = int | Literal["blocked"]


class ReportModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Finding(ReportModel):
    """A risk rule that matched a change: why a reviewer should look, and at which line."""

    rule: str
    severity: Severity
    tier: Tier
    file: str | None = None
    line: int | None = None
    address: str | None = None
    message: str


class Risk(ReportModel):
    level: Severity = "info"
    score: int = Field(default=0, ge=0, le=100)


class PolicyResult(ReportModel):
    """Cedar's answer for `propose`; anything but allow is deny (fail closed)."""

    decision: Literal["allow", "deny"] = "allow"
    reasons: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


class ApprovalRecord(ReportModel):
    """An approval that counts: who, through which team, when, at which commit."""

    login: str
    teams: tuple[str, ...] = ()
    at: str | None = None
    commit: str | None = None
    carried: bool = False


class ScopeChange(ReportModel):
    """One object whose change differs, in an approver's scope, between their commit and the head.

    `before`/`after` are the op at the approved commit and now; None means "not changed there"
    (new since the approval, or reverted since). Equal ops mean the same op with other values.
    """

    file: str
    address: str
    kind: str
    before: str | None = None
    after: str | None = None


class VoidedApproval(ReportModel):
    """An approval given at an earlier commit that no longer counts: whose, where, and why."""

    login: str
    commit: str
    reason: str
    changes: tuple[ScopeChange, ...] = ()


class ApprovalStatus(ReportModel):
    required: tuple[str, ...] = ()
    satisfied: bool = False
    missing: tuple[str, ...] = ()
    approvals: tuple[ApprovalRecord, ...] = ()
    blocking: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    voided: tuple[VoidedApproval, ...] = ()
    """Approvals a push voided, with what changed in each approver's scope (also in `ignored`)."""


class AgentInfo(ReportModel):
    """Who proposed the change and which agent run produced it."""

    id: str | None = None
    run_id: str | None = None
    author: str | None = None
    is_agent: bool = False
    run_url: str | None = None
    run_cost_usd: str | None = None
    operator: str | None = None
    problems: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    """Why this is an agent change (which login, e-mail, trailer or branch matched)."""
    unknown_authors: tuple[str, ...] = ()
    """Commits whose author/committer no one can identify: the change is enforced."""
    trace_parent: str | None = None
    """The agent's W3C `traceparent` (`Agent-Trace-Parent:` trailer) the evaluation links to."""
    notes: tuple[str, ...] = ()
    """Trailers ignored and why (e.g. an invalid `Agent-Trace-Parent:`); they fail nothing."""


class PlanStatus(ReportModel):
    """Terraform plans of this head: which module directories need one, which arrived (digests)."""

    mode: Literal["required", "optional", "off"] = "optional"
    head_sha: str = ""
    received: dict[str, str] = {}
    """Module directory → digest of the first plan that counts (the merge record lists these)."""
    missing: tuple[str, ...] = ()
    several: dict[str, tuple[str, ...]] = {}
    """Directories for which more than one different plan counts → every digest, in arrival
    order. They are judged together: each plan's changes are findings (the riskier wins)."""
    ignored: tuple[str, ...] = ()
    """Plans posted for this head that do not count (`app.gate.plan_trust`), with the reason."""
    stale: tuple[str, ...] = ()
    """Plans made against a base that has since moved in their directory (`app.gate.plan_freshness`):
    "plan is stale: base moved from X to Y, changing …; post a new plan". They do not count."""


class GateFigures(ReportModel):
    """The agent's audited record over the entry's window, as the trust-ramp gates read it."""

    window_days: int
    merged: int = 0
    reverted: int = 0
    reverted_pct: float = 0.0
    bypassed: int = 0
    run_id_coverage_pct: float | None = None
    cost_per_merge_usd: float | None = None
    merges_without_cost: int = 0


class Graduation(ReportModel):
    """The trust ramp's decision (`policies/agents.yaml` `graduation:`): absent when no entry of
    the agent covers every finding at the computed tier."""

    graduated: bool
    entry: int
    """Index of the agent's graduation entry that applied."""
    from_tier: int
    to_tier: int
    figures: GateFigures | None = None
    """None when no audited record was available (pre-flight): never graduated then."""
    failed_gates: tuple[str, ...] = ()
    summary: str


class BreakGlass(ReportModel):
    """The break-glass label on the PR and what it did (see app/gate/break_glass.py).

    `active`: the check is green for `head_sha` only, because `by` (a member of `team`) added
    the label and gave `reason`. Otherwise `refused` says why the label does nothing."""

    label: str
    active: bool = False
    head_sha: str = ""
    by: str | None = None
    at: str | None = None
    reason: str | None = None
    comment_url: str | None = None
    team: str | None = None
    refused: tuple[str, ...] = ()


class Waiver(ReportModel):
    """A waiver as it was given: who (`by`, through `team`) took `rule` off the tier, at
    `address` or everywhere, and why. The report's `WaiverStatus`, the merge record's
    `MergeWaiver` and the evidence packet's `WaiverEvidence` each add what they need."""

    rule: str
    address: str | None = None
    by: str
    team: str | None = None
    reason: str


class WaiverStatus(Waiver):
    """A `/countersign waive` on this PR and what it does now (see app/gate/waivers.py).

    `state`: `active` (the `findings` are left out of the tier), `expired`, or `voided` (a push
    changed the waived objects since `head_sha`; `why` says what)."""

    at: str
    expires_at: str
    head_sha: str
    state: Literal["active", "expired", "voided"] = "active"
    why: str | None = None
    findings: tuple[Finding, ...] = ()


class FreezeStatus(ReportModel):
    """A change freeze in force that covers this PR (see app/gate/freeze.py): the check waits
    (`action_required`, "frozen until …") unless `exception` names who granted one, and why."""

    name: str
    until: str
    exception_by: tuple[str, ...] = ()
    exception: str | None = None
    """`login: reason` of the freeze exception that lifts it for this content."""
    refused: tuple[str, ...] = ()
    """Freeze exceptions given that do not count, and why (content changed since)."""


class Report(ReportModel):
    schema_version: Literal[1] = 1
    changes: tuple[Change, ...] = ()
    findings: tuple[Finding, ...] = ()
    risk: Risk = Risk()
    tier: Tier | None = None
    policy: PolicyResult = PolicyResult()
    approvals: ApprovalStatus = ApprovalStatus()
    agent: AgentInfo = AgentInfo()
    policy_version: str | None = None
    problems: tuple[str, ...] = ()
    plans: PlanStatus | None = None
    graduation: Graduation | None = None
    mode: Literal["enforce", "observe"] = "enforce"
    """The repository's `mode`: in `observe` the check is `neutral` and requests nothing."""
    break_glass: BreakGlass | None = None
    """Present when the break-glass label is on the PR."""
    waivers: tuple[WaiverStatus, ...] = ()
    """Waivers given on this PR, active or not; waived findings are not in `findings`."""
    freeze: FreezeStatus | None = None
    """The change freeze in force that covers this PR, when one does."""
