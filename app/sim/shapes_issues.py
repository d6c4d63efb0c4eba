"""Shapes of a PR's conversation as GitHub's issues API shows it: the issue, comments, issue events.

GitHub keeps a PR's conversation on its issue (same number): comments are `issue-comment`s,
label changes are `labeled`/`unlabeled` issue events whose `actor` says who made them, and the
`issue_comment` webhook carries the issue (with a `pull_request` link) rather than the PR.
"""

from __future__ import annotations

from typing import Any

from app.sim.shapes import integration, label, node_id, user
from app.sim.state import IssueComment, IssueEvent, PullRequest, World, iso

REACTION_KEYS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")


def _association(login: str) -> str:
    return "NONE" if login.endswith("[bot]") else "MEMBER"


def reactions(url: str) -> dict[str, Any]:
    """An empty reaction rollup (`reaction-rollup`)."""
    return {"url": f"{url}/reactions", "total_count": 0, **dict.fromkeys(REACTION_KEYS, 0)}


def issue_id(world: World, pr: PullRequest) -> int:
    """The id of the PR's issue (GitHub gives the issue its own id), allocated on first use."""
    if pr.issue_id is None:
        pr.issue_id = world.new_id()
    return pr.issue_id


def comment_count(world: World, pr: PullRequest) -> int:
    return sum(1 for c in world.comments.values() if (c.repo, c.number) == (pr.repo, pr.number))


def issue_comment(world: World, c: IssueComment) -> dict[str, Any]:
    """IssueComment (REST list/create, and `comment` of the issue_comment webhook)."""
    api = f"{world.api_url}/repos/{c.repo}"
    url = f"{api}/issues/comments/{c.id}"
    return {
        "url": url,
        "html_url": f"{world.web_url}/{c.repo}/pull/{c.number}#issuecomment-{c.id}",
        "issue_url": f"{api}/issues/{c.number}",
        "id": c.id,
        "node_id": node_id("IC", c.id),
        "user": user(world, c.user),
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "author_association": _association(c.user),
        "body": c.body,
        "reactions": reactions(url),
        "performed_via_github_app": None,
    }


def issue_event(world: World, e: IssueEvent) -> dict[str, Any]:
    """A `labeled-issue-event` / `unlabeled-issue-event` of `GET /issues/{n}/events`."""
    repo = world.repos[e.repo.lower()]
    item = repo.labels.get(e.label)
    app = world.app
    by_app = app is not None and e.actor.lower() == f"{app.slug}[bot]"
    return {
        "id": e.id,
        "node_id": node_id("LE" if e.event == "labeled" else "UNLE", e.id),
        "url": f"{world.api_url}/repos/{e.repo}/issues/events/{e.id}",
        "actor": user(world, e.actor),
        "event": e.event,
        "commit_id": None,
        "commit_url": None,
        "created_at": iso(e.created_at),
        "performed_via_github_app": integration(world) if by_app else None,
        "label": {"name": e.label, "color": item.color if item else "ededed"},
    }


def issue(world: World, pr: PullRequest) -> dict[str, Any]:
    """The PR's issue as the `issue_comment` webhook carries it (with its `pull_request` link)."""
    repo = world.repos[pr.repo.lower()]
    api = f"{world.api_url}/repos/{pr.repo}"
    html = f"{world.web_url}/{pr.repo}/pull/{pr.number}"
    url = f"{api}/issues/{pr.number}"
    number = issue_id(world, pr)
    return {
        "url": url,
        "repository_url": api,
        "labels_url": f"{url}/labels{{/name}}",
        "comments_url": f"{url}/comments",
        "events_url": f"{url}/events",
        "html_url": html,
        "id": number,
        "node_id": node_id("PR", pr.id),
        "number": pr.number,
        "title": pr.title,
        "user": user(world, pr.author),
        "labels": [label(world, repo, repo.labels[name]) for name in pr.labels],
        "state": pr.state,
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": comment_count(world, pr),
        "created_at": iso(pr.created_at),
        "updated_at": iso(pr.updated_at),
        "closed_at": iso(pr.closed_at) if pr.closed_at else None,
        "author_association": _association(pr.author),
        "active_lock_reason": None,
        "draft": pr.draft,
        "pull_request": {
            "url": f"{api}/pulls/{pr.number}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": iso(pr.merged_at) if pr.merged_at else None,
        },
        "body": pr.body,
        "reactions": reactions(url),
        "timeline_url": f"{url}/timeline",
        "performed_via_github_app": None,
        "state_reason": None,
    }
