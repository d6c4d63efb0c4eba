"""One change's evidence packet for an auditor, built from the audit store alone.

The packet joins the merge record (who merged, approvals that counted, check conclusion, bypass,
plans) with the evaluation of the merged head (semantic changes, policy decision, agent run) and
judges segregation of duties: at least one approval, before the merge, by a human who is neither
the author, the merger nor the operator who started the agent run. Agents never count.
Rendered as JSON or as a printable HTML page (Jinja2, autoescaped: titles and file names are
written by agents and must stay inert).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.errors import UsageError
from app.core.report import Waiver
from app.store.audit.chain import MERGE_KINDS
from app.store.audit.deployments import DeploymentEvidence, deployments_of
from app.store.audit.store import events_for_pr
from app.store.tables import AuditEvent

TEMPLATES = Path(__file__).resolve().parent / "templates"
_CHANGE = re.compile(r"^(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)#(?P<pr>[0-9]{1,10})$")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChangeSummary(_Model):
    file: str
    kind: str
    address: str
    op: str
    line: int | None = None
    old_file: str | None = None


class ApprovalEvidence(_Model):
    """One approval that counted at merge, and whether it counts for segregation of duties."""

    login: str
    teams: list[str]
    time: datetime | None
    before_merge: bool | None
    commit: str | None
    at_merged_head: bool
    independent: bool
    why_not: str = ""


class WaiverEvidence(Waiver):
    """A waiver in force at the merged head: a finding a named person took out of the tier."""

    at: str
    expires_at: str
    findings: int


class Segregation(_Model):
    verdict: Literal["pass", "fail"]
    independent_approvers: list[str]
    violations: list[str]


class BreakGlassEvidence(_Model):
    """Who broke glass for the merged head, when and why (the `break_glass` audit event)."""

    by: str | None
    at: str | None
    reason: str | None
    team: str | None
    post_review: str | None
    seq: int | None


class BypassReview(_Model):
    """The after-the-fact review of a bypass merge (`bypass_reviewed` event)."""

    reviewer: str
    note: str
    time: datetime
    seq: int


class EvidencePacket(_Model):
    repo: str
    pr: int
    title: str
    url: str
    agent_id: str | None
    run_id: str | None
    run_url: str | None
    run_cost_usd: str | None
    operator: str | None
    author: str | None
    base_sha: str | None
    head_sha: str
    merge_commit_sha: str | None
    merged_by: str | None
    merged_at: datetime
    changes: list[ChangeSummary]
    findings: list[dict[str, Any]]
    tier: int | str
    risk_level: str
    risk_score: int
    policy_decision: str | None
    policy_reasons: list[str]
    policy_version: str
    approvals: list[ApprovalEvidence]
    segregation_of_duties: Segregation
    check_conclusion: str | None
    bypass: bool
    break_glass: BreakGlassEvidence | None = None
    """Set for a break-glass merge (then `bypass` is true: it needs post-merge review)."""
    observed: bool = False
    plans: dict[str, str]
    chain_seq: int
    chain_hash: str
    merge_kind: str
    evaluation_seq: int | None
    problems: list[str]
    bypass_review: BypassReview | None = None
    """For a bypass merge: its review, None while it still needs one."""
    waivers: list[WaiverEvidence] = []
    """Waivers that took findings out of the merged head's tier (who, team, why, until when)."""
    freeze_exception: str | None = None
    """`login: reason` of the freeze exception the merged head was let through with."""
    deployments: list[DeploymentEvidence] = []
    """Approved deployments that carried this merge (`deployment_decision` events)."""


def parse_change(text: str) -> tuple[str, int]:
    """`OWNER/REPO#N` as (repo, number)."""
    match = _CHANGE.match(text.strip())
    if match is None:
        raise UsageError(
            f"{text!r} does not name a change", hint="write OWNER/REPO#N, e.g. acme/api#42"
        )
    return match["repo"], int(match["pr"])


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.casefold() == b.casefold()


def build_packet(
    engine: Engine | Session, repo: str, pr: int, *, seq: int | None = None
) -> EvidencePacket:
    """The evidence of the newest recorded merge of `repo#pr` (or of the merge record at `seq`);
    UsageError when none is recorded.

    A Session reads inside its transaction (the console's bypass review, under the chain lock)."""
    packet = packet_of(events_for_pr(engine, repo, pr), repo, pr, seq=seq)
    deployments = deployments_of(engine, packet.repo, packet.merge_commit_sha)
    return packet.model_copy(update={"deployments": deployments})


def packet_of(
    events: list[AuditEvent], repo: str, pr: int, *, seq: int | None = None
) -> EvidencePacket:
    """`build_packet` from the PR's events (oldest first), without reading the store: no
    `deployments` (app/store/audit/evidence_batch.py reads many PRs' events at once)."""
    merges = [e for e in events if e.kind in MERGE_KINDS and (seq is None or e.seq == seq)]
    if not merges:
        raise UsageError(
            f"no merge of {repo}#{pr} is recorded in the audit store",
            hint="evidence covers merged changes; check the repository and number",
        )
    merge = merges[-1]
    record = merge.data()
    problems: list[str] = []
    evaluations = [e for e in events if e.kind == "evaluation" and e.seq < merge.seq]
    at_head = [e for e in evaluations if e.head_sha == record["head_sha"]]
    evaluation = at_head[-1] if at_head else None
    if evaluation is None:
        problems.append(f"no evaluation of the merged head {record['head_sha']} is recorded")
    payload = evaluation.data() if evaluation is not None else {}
    report: dict[str, Any] = payload.get("report") or {}
    agent: dict[str, Any] = report.get("agent") or {}
    policy: dict[str, Any] = report.get("policy") or {}
    bots = {
        str(e.data().get("login", "")).casefold()
        for e in events
        if e.kind == "approval" and e.data().get("user_type") == "Bot"
    }
    agent_logins = {str(agent.get("author") or "").casefold()} if agent.get("is_agent") else set()
    merged_at = datetime.fromisoformat(str(record["merged_at"]).replace("Z", "+00:00"))
    approvals = [
        _approval(a, record, merged_at, agent.get("operator"), bots | agent_logins)
        for a in record.get("approvals") or []
    ]
    base_sha = payload.get("base_sha") or report.get("base_sha")
    if not base_sha:
        problems.append("the base SHA is not recorded for this merge")
    review = _bypass_review(events, merge.seq) if merge.kind == "bypass_merge" else None
    return EvidencePacket(
        repo=record["repo"],
        pr=int(record["pr"]),
        title=record["title"],
        url=record["url"],
        agent_id=record.get("agent_id"),
        run_id=record.get("run_id"),
        run_url=agent.get("run_url"),
        run_cost_usd=agent.get("run_cost_usd"),
        operator=agent.get("operator"),
        author=record.get("author"),
        base_sha=base_sha or None,
        head_sha=record["head_sha"],
        merge_commit_sha=record.get("merge_commit_sha"),
        merged_by=record.get("merged_by"),
        merged_at=merged_at,
        changes=[ChangeSummary.model_validate(_change(c)) for c in report.get("changes") or []],
        findings=list(record.get("findings") or []),
        tier=record["tier"],
        risk_level=record["risk_level"],
        risk_score=int(record["risk_score"]),
        policy_decision=policy.get("decision"),
        policy_reasons=[str(r) for r in policy.get("reasons") or []],
        policy_version=record["policy_version"],
        approvals=approvals,
        segregation_of_duties=_segregation(record, approvals),
        check_conclusion=record.get("check_conclusion"),
        bypass=bool(record.get("bypass")),
        break_glass=_break_glass(events, record, review) if record.get("break_glass") else None,
        observed=bool(record.get("observed")),
        plans=dict(record.get("plans") or {}),
        chain_seq=merge.seq,
        chain_hash=merge.hash,
        merge_kind=merge.kind,
        evaluation_seq=evaluation.seq if evaluation is not None else None,
        problems=problems,
        bypass_review=review,
        waivers=_waivers(report),
        freeze_exception=(report.get("freeze") or {}).get("exception"),
    )


def _waivers(report: dict[str, Any]) -> list[WaiverEvidence]:
    """The waivers active in the merged head's evaluation (the tier it was judged at)."""
    return [
        WaiverEvidence(
            rule=str(w.get("rule")),
            address=w.get("address"),
            by=str(w.get("by")),
            team=w.get("team"),
            reason=str(w.get("reason")),
            at=str(w.get("at")),
            expires_at=str(w.get("expires_at")),
            findings=len(w.get("findings") or []),
        )
        for w in report.get("waivers") or []
        if w.get("state") == "active"
    ]


def _break_glass(
    events: list[Any], record: dict[str, Any], review: BypassReview | None
) -> BreakGlassEvidence:
    """`post_review` is `reviewed` once a `bypass_reviewed` event names this merge."""
    uses = [
        e
        for e in events
        if e.kind == "break_glass" and e.data().get("head_sha") == record["head_sha"]
    ]
    data = uses[-1].data() if uses else {}
    return BreakGlassEvidence(
        by=data.get("by"),
        at=data.get("at"),
        reason=data.get("reason"),
        team=data.get("team"),
        post_review="reviewed" if review is not None else record.get("post_review"),
        seq=uses[-1].seq if uses else None,
    )


def _bypass_review(events: list[AuditEvent], merge_seq: int) -> BypassReview | None:
    """The first review recorded for the bypass merge at `merge_seq`."""
    for event in events:
        if event.kind != "bypass_reviewed" or event.seq <= merge_seq:
            continue
        data = event.data()
        if data.get("merge_seq") == merge_seq:
            return BypassReview(
                reviewer=str(data.get("reviewer")),
                note=str(data.get("note") or ""),
                time=event.occurred_at,
                seq=event.seq,
            )
    return None


def _change(change: dict[str, Any]) -> dict[str, Any]:
    return {k: change.get(k) for k in ChangeSummary.model_fields if k in change}


def _approval(
    approval: dict[str, Any],
    record: dict[str, Any],
    merged_at: datetime,
    operator: str | None,
    agents: set[str],
) -> ApprovalEvidence:
    login = str(approval["login"])
    time = (
        datetime.fromisoformat(str(approval["time"]).replace("Z", "+00:00"))
        if approval.get("time")
        else None
    )
    before = None if time is None else time <= merged_at
    reasons = []
    if login.casefold() in agents or login.endswith("[bot]"):
        reasons.append("an agent or bot")
    if _same(login, record.get("author")):
        reasons.append("the author")
    if _same(login, record.get("merged_by")):
        reasons.append("the merger")
    if _same(login, operator):
        reasons.append("the operator who started the run")
    if before is None:
        reasons.append("approval time not recorded")
    elif not before:
        reasons.append("approved after the merge")
    return ApprovalEvidence(
        login=login,
        teams=[str(t) for t in approval.get("teams") or []],
        time=time,
        before_merge=before,
        commit=approval.get("commit"),
        at_merged_head=approval.get("commit") == record["head_sha"],
        independent=not reasons,
        why_not=", ".join(reasons),
    )


def _segregation(record: dict[str, Any], approvals: list[ApprovalEvidence]) -> Segregation:
    violations = []
    merger, author = record.get("merged_by"), record.get("author")
    if not merger:
        violations.append("the merger is not recorded")
    elif _same(merger, author):
        violations.append(f"the author {author} merged their own change")
    independent = [a.login for a in approvals if a.independent]
    if not independent:
        violations.append(
            "no approval before the merge by a human other than the author, the merger "
            "and the operator"
        )
    return Segregation(
        verdict="fail" if violations else "pass",
        independent_approvers=independent,
        violations=violations,
    )


def http_url(value: str | None) -> str:
    """The URL if it is http(s), else "": a `javascript:` run URL must not become a link."""
    if value and re.match(r"^https?://[^\s]+$", value, re.IGNORECASE):
        return value
    return ""


def _environment() -> Environment:
    # autoescape=True for every template: PR titles, file names and messages are attacker-written.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["http_url"] = http_url
    return env


def render_html(packet: EvidencePacket) -> str:
    """A self-contained, printable HTML page of the packet (no scripts, no external assets)."""
    template = _environment().get_template("evidence.html.j2")
    return template.render(p=packet)


def render_json(packet: EvidencePacket) -> str:
    return packet.model_dump_json(indent=2) + "\n"
