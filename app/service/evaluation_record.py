"""What one evaluation leaves in the audit chain, and whom it asks for a review.

The `evaluation` event is appended before the check run is published (a green check must never
exist without its audit record) and once per delivery (a retried delivery publishes again but
records once). Reviewers are asked once per head SHA, so the request is recorded with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from app.agentops.history import AgentHistory
from app.agentops.reverts import revert_refs
from app.core.snapshot import PullRequestSnapshot
from app.gate.pipeline import Evaluation
from app.service.check_runs import Head
from app.store.audit import store
from app.store.audit.agent_record import opening_counts
from app.store.audit.records import EvaluationRecord
from app.store.tables import AuditEvent


@dataclass(frozen=True)
class ReviewRequest:
    already: frozenset[str]
    users: frozenset[str]
    teams: frozenset[str]
    new_users: frozenset[str]
    new_teams: frozenset[str]


def reviewers_to_request(evaluation: Evaluation, previous: AuditEvent | None) -> ReviewRequest:
    """Missing owners/teams, asked once per SHA (never agents, never the author); nobody in
    observe mode."""
    already: set[str] = set()
    if previous is not None:
        already = set(previous.data().get("requested_reviewers") or [])
    if evaluation.observed:
        empty: frozenset[str] = frozenset()
        return ReviewRequest(frozenset(already), empty, empty, empty, empty)
    author = (evaluation.report.agent.author or "").lower()
    users = {
        u for u in evaluation.to_request_users if u.lower() != author and not u.endswith("[bot]")
    }
    teams = {f"team:{t}" for t in evaluation.to_request_teams}
    return ReviewRequest(
        already=frozenset(already),
        users=frozenset(users),
        teams=frozenset(teams),
        new_users=frozenset(users - already),
        new_teams=frozenset(t[5:] for t in teams - already),
    )


@dataclass(frozen=True)
class Published:
    """Where the evaluation went and how it got there: the audit record refers to all of it."""

    check_run_id: int
    api_calls: int
    trace_id: str | None
    agent_trace_id: str | None
    requested: ReviewRequest
    delivery_id: str | None


def evaluation_payload(
    snapshot: PullRequestSnapshot,
    evaluation: Evaluation,
    published: Published,
    record: AgentHistory | None,
) -> dict[str, Any]:
    """The `evaluation` event's data: the report JSON plus what the service did with it."""
    report = evaluation.report
    payload = EvaluationRecord(
        report=report.model_dump(mode="json"),
        head_sha=snapshot.head_sha,
        base_sha=snapshot.base_sha or None,
        policy_version=report.policy_version or "",
        conclusion=evaluation.conclusion,
        check_run_id=published.check_run_id,
        api_calls=published.api_calls,
        trace_id=published.trace_id,
        agent_trace_id=published.agent_trace_id,
        observed=evaluation.observed,
        would_conclude=evaluation.would_conclude if evaluation.observed else None,
    ).model_dump(mode="json")
    requested = published.requested
    payload["requested_reviewers"] = sorted(requested.already | requested.users | requested.teams)
    payload["delivery_id"] = published.delivery_id
    if record is not None:  # the rate-limit figures (the ramp's are in report.graduation)
        payload["agent_record"] = opening_counts(record)
    refs = revert_refs(
        snapshot.repo, [snapshot.title, snapshot.body, *(c.message for c in snapshot.commits)]
    )
    if refs:  # kept for the merge record: which earlier merges this PR reverts
        payload["reverts"] = refs.model_dump(mode="json")
    return payload


def already_recorded(engine: Engine, head: Head) -> bool:
    """A retried delivery (a crash after the append) publishes again but records once."""
    return (
        head.attempt > 1
        and head.delivery_id is not None
        and any(
            e.data().get("delivery_id") == head.delivery_id
            for e in store.evaluations_for_pr(engine, head.repo, head.number)
        )
    )


def record_run_id_change(
    engine: Engine, repo: str, number: int, head_sha: str, run_id: str | None
) -> None:
    """A PR whose run ID changes after evaluation is re-linked: say so in the audit trail."""
    events = store.evaluations_for_pr(engine, repo, number)
    if not events or events[-1].run_id == run_id:
        return
    store.append(
        engine,
        "run_id_changed",
        {"before": events[-1].run_id, "after": run_id, "head_sha": head_sha},
        repo=repo,
        pr_number=number,
        head_sha=head_sha,
        run_id=run_id,
    )
