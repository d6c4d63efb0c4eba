"""The service side of break-glass: read its facts when the label is on the PR, record its use.

The verdict itself is pure (app/gate/break_glass.py). Here: when Countersign first saw the head (its
own audit record, so a label given before a push does not carry to the pushed head), the label
events and comments (app/github/conversation.py), the break-glass team's members, and one
`break_glass` audit event per honoured break-glass (head, who, when).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from app.config.repo import parse_repo_config
from app.core.errors import ConfigError, GitHubError, GitHubUnavailable
from app.core.moments import aware_utc
from app.core.report import Report
from app.core.snapshot import PullRequestSnapshot
from app.github.client import InstallationClient
from app.github.conversation import fetch_conversation
from app.store.audit import store

BREAK_GLASS = "break_glass"
FIRST_SEEN_KINDS = ("check_run_created", "evaluation")


def head_first_seen(engine: Engine, repo: str, number: int, head_sha: str) -> datetime | None:
    """When Countersign first recorded anything about this head of the PR (None: never)."""
    for event in store.events_for_pr(engine, repo, number, kinds=FIRST_SEEN_KINDS):
        if event.head_sha == head_sha:
            return aware_utc(event.occurred_at)
    return None


def with_break_glass_facts(
    client: InstallationClient, engine: Engine, snapshot: PullRequestSnapshot
) -> PullRequestSnapshot:
    """The snapshot with its conversation and the team's members, when the label is on the PR
    and break-glass is configured; unchanged otherwise (no extra API calls)."""
    try:
        config = parse_repo_config(snapshot.config_text).break_glass
    except ConfigError:
        return snapshot  # invalid config: the check fails anyway, and break-glass is off
    labels = {name.lower() for name in snapshot.labels}
    if config.team_key is None or config.label.lower() not in labels:
        return snapshot
    seen = head_first_seen(engine, snapshot.repo, snapshot.number, snapshot.head_sha)
    conversation = fetch_conversation(client, snapshot.repo, snapshot.number, head_first_seen=seen)
    members = dict(snapshot.team_members)
    try:
        members[config.team_key] = client.team_members(config.team_key)
    except GitHubUnavailable:
        raise  # retried with backoff
    except GitHubError:
        members.pop(config.team_key, None)  # unknown members: nobody breaks glass (fail closed)
    return snapshot.model_copy(update={"conversation": conversation, "team_members": members})


def record_break_glass(engine: Engine, repo: str, number: int, report: Report) -> bool:
    """Append the `break_glass` event once per honoured break-glass (head, who, when)."""
    glass = report.break_glass
    if glass is None or not glass.active:
        return False
    key = {"head_sha": glass.head_sha, "by": glass.by, "at": glass.at}
    for event in store.events_for_pr(engine, repo, number, kinds=(BREAK_GLASS,)):
        data = event.data()
        if all(data.get(k) == v for k, v in key.items()):
            return False
    store.append(
        engine,
        BREAK_GLASS,
        {
            **key,
            "repo": repo,
            "pr": number,
            "reason": glass.reason,
            "team": glass.team,
            "label": glass.label,
            "comment_url": glass.comment_url,
            "tier": report.tier,
            "approvals_missing": list(report.approvals.missing),
        },
        repo=repo,
        pr_number=number,
        head_sha=glass.head_sha,
        agent_id=report.agent.id,
        run_id=report.agent.run_id,
    )
    return True
