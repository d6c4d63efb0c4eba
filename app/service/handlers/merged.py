"""A merged PR: record the merge once per merge commit, linked to the agent run.

The record carries what the gate last concluded for the merged head: a merge the gate did not
pass (or one that broke glass, skipping the approvals) is a `bypass_merge`, which needs review
after the fact. With no evaluation of the head at all, the merge is a bypass at the worst risk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.agentops.reverts import RevertRefs, revert_refs
from app.github.webhooks import PullRequestRef
from app.runtime.logging import log
from app.service.handlers.base import Event, Outcome
from app.store.audit import store
from app.store.audit.records import MergeApproval, MergeFinding, MergeRecord, MergeWaiver
from app.store.tables import AuditEvent


def record_merge(event: Event) -> Outcome:
    """Record the merge once, linked to the run ID; `bypass_merge` unless the check was green."""
    pr = event.payload.pull_request
    assert pr is not None
    engine, repo = event.rt.engine, event.repo
    for recorded in store.events_for_pr(engine, repo, pr.number, kinds=("merge", "bypass_merge")):
        if recorded.data().get("merge_commit_sha") == pr.merge_commit_sha:
            return "done"
    head_sha = pr.head.sha if pr.head else ""
    # One read of the head's evaluations, oldest first: the last decides, the first dates it.
    at_head = [
        e for e in store.evaluations_for_pr(engine, repo, pr.number) if e.head_sha == head_sha
    ]
    record = merge_record(repo, pr, at_head)
    store.append(engine, "bypass_merge" if record.bypass else "merge", record)
    log.info(
        "merge.recorded",
        bypass=record.bypass,
        break_glass=record.break_glass,
        run_id=record.run_id,
        agent=record.agent_id,
    )
    return "done"


@dataclass(frozen=True)
class Verdict:
    """What the newest evaluation of the merged head said (nothing, when there was none)."""

    report: dict[str, Any] = field(default_factory=dict)
    conclusion: str | None = None
    policy_version: str = ""
    observed: bool = False
    gate: str | None = None
    """What the gate concluded (in observe mode: would have concluded)."""
    reverts: RevertRefs = field(default_factory=RevertRefs)

    @classmethod
    def of(cls, latest: AuditEvent | None) -> Verdict:
        if latest is None:
            return cls()
        ev = latest.data()
        observed = bool(ev.get("observed"))
        return cls(
            report=ev.get("report") or {},
            conclusion=ev.get("conclusion"),
            policy_version=ev.get("policy_version") or "",
            observed=observed,
            gate=ev.get("would_conclude") if observed else ev.get("conclusion"),
            reverts=RevertRefs.model_validate(ev.get("reverts") or {}),
        )


def merge_record(repo: str, pr: PullRequestRef, at_head: list[AuditEvent]) -> MergeRecord:
    """The merge record from the PR and its head's evaluations (oldest first)."""
    verdict = Verdict.of(at_head[-1] if at_head else None)
    report = verdict.report
    glass = report.get("break_glass") or {}
    broke_glass = bool(glass.get("active")) and verdict.gate == "success"
    # A break-glass merge skipped the approvals: a bypass that needs review after the fact.
    bypass = verdict.gate != "success" or broke_glass
    agent = report.get("agent") or {}
    risk = report.get("risk") or {}
    return MergeRecord(
        repo=repo,
        pr=pr.number,
        title=pr.title,
        url=pr.html_url,
        agent_id=agent.get("id"),
        run_id=agent.get("run_id"),
        author=pr.user.login if pr.user else agent.get("author"),
        head_sha=pr.head.sha if pr.head else "",
        merge_commit_sha=pr.merge_commit_sha,
        merged_by=pr.merged_by.login if pr.merged_by else None,
        merged_at=_parse_time(pr.merged_at),
        tier=report.get("tier") if report.get("tier") is not None else "blocked",
        risk_level=risk.get("level", "critical") if report else "critical",
        risk_score=int(risk.get("score", 100)) if report else 100,
        findings=[MergeFinding.model_validate(f) for f in report.get("findings", [])],
        approvals=_approvals(report),
        check_conclusion=verdict.conclusion or "none",
        bypass=bypass,
        policy_version=verdict.policy_version or "unknown",
        plans=dict((report.get("plans") or {}).get("received") or {}),
        run_cost_usd=agent.get("run_cost_usd"),
        head_first_evaluated_at=at_head[0].occurred_at if at_head else None,
        reverts=revert_refs(repo, [pr.title, pr.body or ""]).union(verdict.reverts),
        observed=verdict.observed,
        break_glass=broke_glass,
        post_review="needed" if broke_glass else None,
        waivers=_waivers(report),
        freeze_exception=(report.get("freeze") or {}).get("exception"),
    )


def _waivers(report: dict[str, Any]) -> list[MergeWaiver]:
    """The waivers active in the merged head's evaluation."""
    return [
        MergeWaiver.model_validate({k: w.get(k) for k in MergeWaiver.model_fields})
        for w in report.get("waivers") or []
        if w.get("state") == "active"
    ]


def _approvals(report: dict[str, Any]) -> list[MergeApproval]:
    """The approvals that counted for the merged head, as the report listed them."""
    return [
        MergeApproval(
            login=a["login"],
            teams=list(a.get("teams") or []),
            time=_parse_time(a.get("at")) if a.get("at") else None,
            commit=a.get("commit"),
        )
        for a in (report.get("approvals") or {}).get("approvals", [])
    ]


def _parse_time(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
