"""Merge queues end to end: GitHub sends `merge_group` and waits for `countersign` on the group
head; the App decides it from the queued PR's fresh evaluation and records it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.demo.stack import LocalStack
from app.sim.merge_queue import MergeGroup
from app.sim.state import PullRequest
from app.store.audit.store import events_for_pr
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e
REPO = "acme/platform"
SETUP: dict[str, Any] = {
    "org": "acme",
    "users": ["alice", "bob", {"login": "docs-bot[bot]", "type": "Bot"}],
    "teams": {"platform": ["alice", "bob"]},
    "repos": {REPO: {"files": {".github/CODEOWNERS": "* @acme/platform\n", "app.cfg": "a=1\n"}}},
    "install": True,
}


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def approved_pr(stack: LocalStack) -> PullRequest:
    """A tier-1 agent change with a code owner's approval: the check is green."""
    pr = stack.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        "agent/cfg",
        {"app.cfg": "a=2\n"},
        title="Cfg",
        body="x\n\nAgent-Run-Id: run_q1",
    )
    stack.sim.review(pr, "alice", "APPROVED")
    stack.sim.wait_for(
        lambda: getattr(stack.sim.latest_check(pr), "conclusion", None) == "success", 20, "green"
    )
    return pr


def group_records(stack: LocalStack, pr: PullRequest) -> list[dict[str, Any]]:
    assert stack.runtime is not None
    return [
        e.data()
        for e in events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("merge_group",))
    ]


def wait_group_check(stack: LocalStack, group: MergeGroup) -> None:
    queue = stack.sim.merge_queue
    stack.sim.wait_for(lambda: queue.settled(group), 20, "the group check")


def test_queued_pr_group_check_completes_and_merges(stack: LocalStack) -> None:
    pr = approved_pr(stack)
    group = stack.sim.merge_queue.enqueue(pr, by="alice")
    assert group.head_ref == f"gh-readonly-queue/main/pr-{pr.number}-{pr.head_sha}"
    wait_group_check(stack, group)
    sent = next(d for d in stack.sim.deliveries if d.event == "merge_group").payload
    assert sent["action"] == "checks_requested"
    assert sent["merge_group"]["head_ref"] == f"refs/heads/{group.head_ref}"
    run = max(
        (c for c in stack.sim.check_runs_for(REPO, group.head_sha) if c.name == "countersign"),
        key=lambda c: c.id,
    )
    assert run.conclusion == "success"
    record = group_records(stack, pr)[-1]
    assert record["conclusion"] == "success" and record["head_sha"] == group.head_sha
    assert record["pulls"][0]["number"] == pr.number
    # "Re-run" on the group check decides the group again.
    stack.sim.rerequest_check(run.id, by="alice")
    stack.sim.wait_for(lambda: len(group_records(stack, pr)) == 2, 20, "a second group decision")
    assert group_records(stack, pr)[-1]["check_run_id"] == run.id
    assert stack.sim.merge_queue.advance(group) == "merged"
    assert stack.runtime is not None
    stack.sim.wait_for(
        lambda: bool(
            events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("merge",))  # type: ignore[union-attr]
        ),
        20,
        "the merge record",
    )
    stack.sim.wait_idle()
    destroyed = [
        d for d in stack.sim.deliveries if d.event == "merge_group" and d.action == "destroyed"
    ]
    assert destroyed and destroyed[-1].status_code in (200, 202)


def test_group_fails_when_the_approval_no_longer_holds(stack: LocalStack) -> None:
    pr = approved_pr(stack)
    review = stack.sim.reviews_of(pr)[0]
    # The approval is dismissed, but the webhook is lost: only the group's fresh evaluation sees it.
    stack.sim.drop_next_deliveries(1)
    stack.sim.dismiss_review(review.id, by="bob")
    group = stack.sim.merge_queue.enqueue(pr, by="alice")
    wait_group_check(stack, group)
    record = group_records(stack, pr)[-1]
    assert record["conclusion"] == "failure"
    assert "no longer hold" in record["reason"]
    assert stack.sim.merge_queue.advance(group) == "removed"
    assert stack.sim.pr(f"{REPO}#{pr.number}").state == "open"
