"""A PR's conversation in the simulator: comments, label issue events, the `issue_comment` webhook,
and webhooks only for the events the App subscribed to (shapes are validated against GitHub's
descriptions by the autouse spec check)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from githubkit.exception import RequestFailed

from app.sim import permissions
from app.sim.state import PullRequest
from tests.sim.helpers import Env

LABEL = "countersign/break-glass"


def _get(env: Env, path: str) -> Any:
    response = env.client().request("GET", path)
    return response.json()


def _pr(env: Env, branch: str) -> PullRequest:
    pr: PullRequest = env.open_pricing_pr(branch)
    return pr


def test_labels_added_by_people_and_by_the_app_are_listed_as_issue_events(env: Env) -> None:
    pr = _pr(env, "conv/labels")
    env.sim.add_labels(pr, [LABEL], by="carol", via_api=False)
    gh = env.client()
    gh.rest.issues.add_labels("acme", "shop", pr.number, data={"labels": ["tier-2"]})
    env.sim.remove_label(pr, LABEL, by="bob", via_api=False)
    events = _get(env, f"/repos/acme/shop/issues/{pr.number}/events")
    assert [(e["event"], e["label"]["name"], e["actor"]["login"]) for e in events] == [
        ("labeled", LABEL, "carol"),
        ("labeled", "tier-2", "countersign[bot]"),
        ("unlabeled", LABEL, "bob"),
    ]
    assert events[0]["performed_via_github_app"] is None
    assert events[1]["performed_via_github_app"]["slug"] == "countersign"
    assert events[0]["created_at"].endswith("Z")


def test_comments_are_listed_paginated_oldest_first_and_each_sends_issue_comment(
    env: Env, fresh_requests: Callable[[], list[str]]
) -> None:
    pr = _pr(env, "conv/comments")
    env.clear_received()
    first = env.sim.comment(pr, "carol", "/break-glass INC-1 checkout down")
    env.sim.comment(pr, "bob", "Looking.")
    env.sim.edit_comment(first.id, "/break-glass INC-1 checkout down (EU only)", by="carol")
    env.sim.delete_comment(env.sim.comments_of(pr)[1].id, by="bob")
    assert env.receiver.events() == [
        "issue_comment.created",
        "issue_comment.created",
        "issue_comment.edited",
        "issue_comment.deleted",
    ]
    created = json_of(env.receiver.received[0].body)
    assert created["issue"]["number"] == pr.number
    assert created["issue"]["pull_request"]["url"].endswith(f"/pulls/{pr.number}")
    assert created["comment"]["user"]["login"] == "carol"
    edited = json_of(env.receiver.received[2].body)
    assert edited["changes"] == {"body": {"from": "/break-glass INC-1 checkout down"}}

    for i in range(3):
        env.sim.comment(pr, "alice", f"note {i}")
    page = env.client().request(
        "GET", f"/repos/acme/shop/issues/{pr.number}/comments", params={"per_page": 2}
    )
    assert [c["body"] for c in page.json()] == [
        "/break-glass INC-1 checkout down (EU only)",
        "note 0",
    ]
    assert 'rel="next"' in page.headers["link"]
    assert any(
        r.startswith(f"GET /repos/acme/shop/issues/{pr.number}/comments") for r in fresh_requests()
    )


def test_the_app_comments_as_its_bot(env: Env) -> None:
    pr = _pr(env, "conv/app-comment")
    gh = env.client()
    made = gh.rest.issues.create_comment(
        "acme", "shop", pr.number, data={"body": "Countersign: break-glass recorded."}
    )
    assert made.status_code == 201
    assert made.json()["user"]["login"] == "countersign[bot]"


@pytest.mark.parametrize("what", ["comments", "events"])
def test_an_unknown_pr_is_404(env: Env, what: str) -> None:
    with pytest.raises(RequestFailed) as error:
        env.client().request("GET", f"/repos/acme/shop/issues/9999/{what}")
    assert error.value.response.status_code == 404


def test_webhooks_go_only_to_subscribed_events(env: Env) -> None:
    """GitHub delivers an App only the events of its registration (app.yml `default_events`)."""
    assert "issue_comment" in permissions.manifest_events()
    app = env.sim.world.app
    assert app is not None
    pr = _pr(env, "conv/subscribed")
    before = app.events
    try:
        app.events = tuple(e for e in before if e != "issue_comment")
        env.clear_received()
        env.sim.comment(pr, "carol", "/break-glass unheard")
        assert env.receiver.events() == []
    finally:
        app.events = before


def json_of(body: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(body)
    return data
