"""Replay: re-judge stored evaluations with proposed rules, policies, agents and repo config.

Pure: the store hands in what each `evaluation` (and `merge`) event recorded, as data; this module
runs the findings, Cedar `propose`, trust-ramp and approval stages again over the recorded
(redacted) changes and says what would differ. It never guesses: what the audit event does not
hold (the commits that identified the proposer, CODEOWNERS, team membership beyond the recorded
approvers' teams, the figures of a trust-ramp window that was not read) is either taken as
recorded or reported as not replayable, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from app.agentops.ramp import applicable_entry, judge_entry
from app.config.allowlists import effective_layers
from app.config.repo import RepoConfig
from app.core.report import (
    ApprovalRecord,
    Finding,
    GateFigures,
    Graduation,
    PolicyResult,
    Report,
    Tier,
)
from app.gate.approval_scope import Directory, team_key
from app.gate.approvals import ApprovalGate, GateInput, Requirement
from app.gate.pipeline import Gatekeeper
from app.policy import summarize
from app.policy.engine import ApprovalSubject
from app.policy.summary import ProposeSummary
from app.risk import evaluate_rules, tier_for
from app.risk.allowlist import RULE as ALLOWLIST_RULE
from app.risk.allowlist import allowlist_findings

OWNER_LABEL = "1 code owner of "
"""How a recorded code-owner requirement's label starts (`app.gate.approvals`)."""


@dataclass(frozen=True)
class Stored:
    """One stored evaluation as the store hands it over: the event's facts and its report JSON.

    `approvals` are what counted when the PR merged (the `merge` record) for a merged head;
    None for a head that did not merge (then the report's own approvals are used)."""

    seq: int
    at: datetime
    repo: str
    pr: int
    head_sha: str
    url: str
    report: Mapping[str, Any]
    merged: bool = False
    approvals: tuple[ApprovalRecord, ...] | None = None
    unavailable: str | None = None
    """Why there is no report to judge (e.g. a merged head that was never evaluated)."""
    bypassed: bool = False
    """Merged without the gate's approval (admin bypass, break-glass): no approvals to compare."""


@dataclass(frozen=True)
class Proposal:
    """What to judge with: the proposed rules and policies (with their agent registry), and the
    repo config, None when the replay has none (the recorded config is not stored)."""

    gate: Gatekeeper
    config: RepoConfig | None = None
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False, repr=False)
    """Cedar answers already given in this replay: the same question gets the same answer, and
    PRs of one repository ask few distinct ones."""

    def decide_propose(self, proposer: str, repo: str, summary: ProposeSummary) -> PolicyResult:
        key = ("propose", proposer, repo, summary)
        if key not in self.memo:
            self.memo[key] = self.gate.policy.decide_propose(proposer, repo, summary)
        return self.memo[key]  # type: ignore[no-any-return]

    def may_approve(self, login: str, is_bot: bool, pr: ApprovalSubject) -> bool:
        key = ("approve", login, is_bot, pr)
        if key not in self.memo:
            self.memo[key] = self.gate.policy.may_approve(login, is_bot=is_bot, pr=pr)[0]
        return bool(self.memo[key])


@dataclass(frozen=True)
class Rejudged:
    """One evaluation judged again: what differs, and what could not be judged (and why)."""

    stored: Stored
    before: Tier | None = None
    after: Tier | None = None
    added: tuple[Finding, ...] = ()
    removed: tuple[Finding, ...] = ()
    retiered: tuple[tuple[Finding, Finding], ...] = ()
    """Findings at the same place by the same rule whose tier or severity moved (before, after)."""
    graduation: Literal["gained", "lost"] | None = None
    approvals_short: tuple[str, ...] = ()
    """For a merge that happened: the approvals the new tier needs that it did not have."""
    not_replayable: str | None = None
    """Why nothing of this evaluation could be judged again (it counts apart)."""
    partial: tuple[str, ...] = field(default=())
    """Parts taken as recorded or left unjudged, and why."""

    @property
    def changed(self) -> bool:
        return bool(
            self.before != self.after
            or self.added
            or self.removed
            or self.retiered
            or self.graduation
            or self.approvals_short
        )

    @property
    def newly_blocked(self) -> bool:
        return self.after == "blocked" and self.before != "blocked"


def rejudge(stored: Stored, proposal: Proposal) -> Rejudged:
    """Judge one stored evaluation again; an unreadable report is not replayable (never
    guessed)."""
    if stored.unavailable:
        return Rejudged(stored, not_replayable=stored.unavailable)
    try:
        report = Report.model_validate(stored.report)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return Rejudged(stored, not_replayable=f"report not readable ({where}: {first['msg']})")
    if report.tier is None:
        return Rejudged(stored, not_replayable="no tier recorded (the evaluation failed)")
    notes: list[str] = []
    findings = _without_waived(report, _findings(report, proposal, notes), notes)
    tier, graduation = _tier(stored, report, proposal, findings, notes)
    added, removed, retiered = _compare(report.findings, findings)
    short: tuple[str, ...] = ()
    if stored.merged and stored.bypassed:
        notes.append("merged as a bypass or by break-glass: approvals not compared")
    elif stored.merged:
        short = _approvals_short(stored, report, proposal, findings, tier, notes)
    return Rejudged(
        stored,
        before=report.tier,
        after=tier,
        added=added,
        removed=removed,
        retiered=retiered,
        graduation=_graduation_move(report.graduation, graduation),
        approvals_short=short,
        partial=tuple(dict.fromkeys(notes)),
    )


def _judged_as_agent(report: Report, config: RepoConfig | None) -> bool:
    """As the pipeline: an agent, or unknown authors the repo enforces for (the default)."""
    enforce_unknown = config is None or config.unknown_authors == "enforce"
    return report.agent.is_agent or (bool(report.agent.unknown_authors) and enforce_unknown)


def _findings(report: Report, proposal: Proposal, notes: list[str]) -> tuple[Finding, ...]:
    """The proposed rules over the recorded changes, then the allowlists: the proposed config's,
    or, without one, the recorded allowlist findings as they were."""
    gate = proposal.gate
    findings = evaluate_rules(
        gate.rules,
        report.changes,
        is_agent=_judged_as_agent(report, proposal.config),
        author=report.agent.author,
    )
    if proposal.config is None:
        kept = [f for f in report.findings if f.rule == ALLOWLIST_RULE]
        if kept:
            notes.append("allowlist findings as recorded (no repo config given)")
        return (*findings, *kept)
    agent_id = report.agent.id
    agent = gate.policy.registry.get(agent_id) if report.agent.is_agent and agent_id else None
    layers = effective_layers(
        proposal.config.allowlists, agent_id, agent.allowlists if agent else None
    )
    return (*findings, *allowlist_findings(report.changes, layers))


def _without_waived(
    report: Report, findings: Sequence[Finding], notes: list[str]
) -> tuple[Finding, ...]:
    """Findings an active waiver of the evaluation left out stay out: the replay judges the
    rules, not the waivers (whose content binding it cannot re-check from the record)."""
    waived = {
        (f.rule, f.file, f.address)
        for waiver in report.waivers
        if waiver.state == "active"
        for f in waiver.findings
    }
    kept = tuple(f for f in findings if (f.rule, f.file, f.address) not in waived)
    if len(kept) < len(findings):
        notes.append(f"{len(findings) - len(kept)} finding(s) left out as waived when recorded")
    return kept


def _tier(
    stored: Stored,
    report: Report,
    proposal: Proposal,
    findings: Sequence[Finding],
    notes: list[str],
) -> tuple[Tier, Graduation | None]:
    """Stage 5 again: Cedar `propose` for an agent (a denial blocks), then the trust ramp over
    the audited figures the evaluation recorded (other windows were not read: not graduated)."""
    if not report.agent.is_agent:
        return tier_for(findings), None
    gate = proposal.gate
    proposer = report.agent.id or report.agent.author or ""
    policy = proposal.decide_propose(proposer, stored.repo, summarize(report.changes, findings))
    if policy.decision != "allow":
        return "blocked", None
    tier: Tier = tier_for(findings)
    agent = gate.policy.registry.get(report.agent.id) if report.agent.id else None
    if agent is None:
        return tier, None
    found = applicable_entry(agent.graduation, tier, findings, report.changes)
    if found is None:
        return tier, None
    index, entry = found
    figures = _recorded_figures(report.graduation, entry.gates.window_days)
    if figures is None:
        notes.append(
            f"trust ramp: no audited figures recorded for a {entry.gates.window_days}-day "
            "window (not graduated)"
        )
    graduation = judge_entry(index, entry, figures)
    return (graduation.to_tier if graduation.graduated else tier), graduation


def _recorded_figures(recorded: Graduation | None, days: int) -> GateFigures | None:
    if recorded is None or recorded.figures is None or recorded.figures.window_days != days:
        return None
    return recorded.figures


def _graduation_move(
    before: Graduation | None, after: Graduation | None
) -> Literal["gained", "lost"] | None:
    was = before is not None and before.graduated
    now = after is not None and after.graduated
    if was == now:
        return None
    return "gained" if now else "lost"


def _key(finding: Finding) -> tuple[str, str | None, str | None, int | None]:
    return (finding.rule, finding.file, finding.address, finding.line)


def _compare(
    before: Sequence[Finding], after: Sequence[Finding]
) -> tuple[tuple[Finding, ...], tuple[Finding, ...], tuple[tuple[Finding, Finding], ...]]:
    """Added, removed and re-tiered findings, keyed by rule and place."""
    old = {_key(f): f for f in before}
    new = {_key(f): f for f in after}
    added = tuple(f for k, f in new.items() if k not in old)
    removed = tuple(f for k, f in old.items() if k not in new)
    moved = tuple(
        (old[k], f)
        for k, f in new.items()
        if k in old and (old[k].tier, old[k].severity) != (f.tier, f.severity)
    )
    return added, removed, moved


def _approvals_short(
    stored: Stored,
    report: Report,
    proposal: Proposal,
    findings: Sequence[Finding],
    tier: Tier,
    notes: list[str],
) -> tuple[str, ...]:
    """What the approvals that counted at merge would lack under the new tier: the tier's
    checklist (code owners as recorded), approvers still allowed by the proposed Cedar
    `approve`, team membership as recorded with each approval."""
    approvals = stored.approvals if stored.approvals is not None else report.approvals.approvals
    requirements = _requirements(report, proposal, findings, tier, notes)
    gate = proposal.gate
    agents = {login.lower() for login in gate.policy.registry.all_logins()}
    operator = report.agent.operator or ""
    counted: list[str] = []
    for approval in approvals:
        login = approval.login
        allowed = proposal.may_approve(
            login,
            login.endswith("[bot]") or login.lower() in agents,
            ApprovalSubject(
                repo=stored.repo,
                author=report.agent.author or "",
                agent_id=report.agent.id or "",
                operator=operator,
                tier=tier if isinstance(tier, int) else 99,
                teams=approval.teams,
            ),
        )
        if allowed:
            counted.append(login)
    members: dict[str, list[str]] = {}
    for approval in approvals:
        for team in approval.teams:
            members.setdefault(team_key(team), []).append(approval.login)
    directory = Directory(members)
    unmet = [r for r in requirements if not r.met(counted, directory)]
    return tuple(dict.fromkeys(r.missing for r in unmet))


def _requirements(
    report: Report,
    proposal: Proposal,
    findings: Sequence[Finding],
    tier: Tier,
    notes: list[str],
) -> list[Requirement]:
    """The new tier's checklist. CODEOWNERS is not stored: the code-owner lines are the ones
    recorded (known only when the recorded tier asked for approvals)."""
    config = proposal.config or _recorded_approvers(report.approvals.required)
    risky_kinds = _risky_kinds(report, findings)
    if proposal.config is None:
        # A kind risky at a recorded tier ≥ 2 without its line had no approvers configured.
        seen = set(_risky_kinds(report, report.findings)) if _at_least(report.tier, 2) else set()
        unknown = sorted(k for k in risky_kinds if k not in config.approvers and k not in seen)
        if unknown and _at_least(tier, 2):
            notes.append(f"approvers for {', '.join(unknown)} not recorded (pass --repo-config)")
    reqs = ApprovalGate().requirements(GateInput(tier=tier, risky_kinds=risky_kinds, config=config))
    owners = [_owner_requirement(label) for label in report.approvals.required]
    recorded_owners = [r for r in owners if r is not None]
    if not recorded_owners and report.tier not in (1, 2, 3) and _at_least(tier, 1):
        notes.append("code owners not recorded at the recorded tier (CODEOWNERS is not stored)")
    if recorded_owners and tier == 1:
        return recorded_owners
    return [*reqs, *recorded_owners] if _at_least(tier, 2) else reqs


def _risky_kinds(report: Report, findings: Sequence[Finding]) -> tuple[str, ...]:
    """Kinds of the files with a tier-2+ finding (their domain approvers must approve)."""
    risky_files = {f.file for f in findings if _at_least(f.tier, 2)}
    return tuple(sorted({c.kind for c in report.changes if c.file in risky_files}))


def _owner_requirement(label: str) -> Requirement | None:
    """`1 code owner of a/b.json (@x or @org/t)` → a requirement one of those handles meets."""
    if not label.startswith(OWNER_LABEL) or not label.endswith(")") or " (" not in label:
        return None
    who = label.rsplit(" (", 1)[1][:-1]
    return Requirement(label=label, missing=who, handles=tuple(who.split(" or ")))


def _recorded_approvers(required: Sequence[str]) -> RepoConfig:
    """Domain and change-board approvers as the recorded checklist names them
    (`@x or @org/t (pricing)`), the rest unknown."""
    approvers: dict[str, tuple[str, ...]] = {}
    for label in required:
        if label.startswith(OWNER_LABEL) or " (" not in label or not label.endswith(")"):
            continue
        who, kind = label[:-1].rsplit(" (", 1)
        kind = "change_board" if kind == "change board" else kind
        handles = tuple(h for h in who.split(" or ") if h.startswith("@"))
        if handles:
            approvers[kind] = handles
    try:
        return RepoConfig(approvers=approvers)
    except ValidationError:
        return RepoConfig()


def _at_least(tier: Tier | None, floor: int) -> bool:
    return tier == "blocked" or (isinstance(tier, int) and tier >= floor)
