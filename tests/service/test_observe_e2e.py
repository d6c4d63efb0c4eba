"""Observe mode end to end: how a team rolls the gate out without blocking anyone.

The same agent price cut goes to two repositories that differ only in `mode: observe`. Enforced,
it waits for finance, requests reviewers and labels the tier. Observed, the check is `neutral`
with the full report (what it would require), nobody is requested, nothing is labelled, and the
audit store says the evaluation was observed and what the gate would have concluded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.demo.stack import LocalStack
from app.sim.state import CheckRun, PullRequest
from app.store.audit.store import events_for_pr
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e

CATALOG = '{"plans": [{"plan_code": "pro-monthly", "monthly_usd": 49.0}]}\n'
CONFIG = (
    'paths:\n  "catalog/**.json": {kind: pricing, key: plan_code, price_fields: [monthly_usd]}\n'
    'approvers:\n  pricing: ["@acme/finance"]\n'
)
FILES = {
    "README.md": "# shop\n",
    ".github/CODEOWNERS": "* @acme/platform\n/catalog/ @acme/finance\n",
    "catalog/plans.json": CATALOG,
}
SETUP: dict[str, Any] = {
    "org": "acme",
    "users": ["alice", "bob", {"login": "pricing-bot[bot]", "type": "Bot"}],
    "teams": {"finance": ["alice"], "platform": ["bob"]},
    "repos": {
        "acme/enforced": {"files": {**FILES, ".github/countersign.yml": CONFIG}},
        "acme/observed": {
            "files": {**FILES, ".github/countersign.yml": CONFIG + "mode: observe\n"}
        },
    },
    "install": True,
}


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def price_cut(stack: LocalStack, repo: str) -> tuple[PullRequest, CheckRun]:
    pr = stack.sim.open_pr(
        repo,
        "pricing-bot[bot]",
        "agent/pro-cut",
        {"catalog/plans.json": CATALOG.replace("49.0", "29.4")},
        title="Cut Pro",
        body="Promotion.\n\nAgent-Run-Id: run_observe_1",
    )
    stack.sim.wait_for(
        lambda: (run := stack.sim.latest_check(pr)) is not None and run.status == "completed",
        30,
        f"the check on {repo}",
    )
    stack.wait_processed()  # every effect of the evaluation (requests, labels) is done
    run = stack.sim.latest_check(pr)
    assert run is not None
    return pr, run


def test_observe_mode_concludes_neutral_and_requests_and_labels_nothing(
    stack: LocalStack,
) -> None:
    enforced_pr, enforced = price_cut(stack, "acme/enforced")
    assert enforced.conclusion == "action_required"
    assert enforced_pr.requested_teams == ["acme/finance"]
    assert enforced_pr.labels == ["countersign:tier-2"]

    pr, run = price_cut(stack, "acme/observed")
    assert run.conclusion == "neutral"
    assert run.title == f"Observe mode · would wait for approvals · {enforced.title}"
    summary = run.summary or ""
    assert "Enforced, it would conclude `action_required`" in summary
    assert "@\u200bacme/finance" in summary  # the full report: what it would require
    assert pr.requested_reviewers == [] and pr.requested_teams == []
    assert pr.labels == []
    observed_deliveries = [
        d for d in stack.sim.deliveries if d.payload.get("repository", {}).get("name") == "observed"
    ]
    assert not [d for d in observed_deliveries if d.action in ("review_requested", "labeled")]

    assert stack.runtime is not None
    engine = stack.runtime.engine
    [evaluation] = events_for_pr(engine, "acme/observed", pr.number, kinds=("evaluation",))
    record = evaluation.data()
    assert record["observed"] is True and record["would_conclude"] == "action_required"
    assert record["conclusion"] == "neutral" and record["requested_reviewers"] == []
    assert record["report"]["mode"] == "observe" and record["report"]["tier"] == 2
    [enforced_record] = events_for_pr(
        engine, "acme/enforced", enforced_pr.number, kinds=("evaluation",)
    )
    assert enforced_record.data()["observed"] is False

    # Neutral passes branch protection; the merge is recorded as observed, and as a bypass of
    # what the enforced gate would have required.
    stack.sim.merge(pr, by="bob")
    stack.sim.wait_for(
        lambda: bool(events_for_pr(engine, "acme/observed", pr.number, kinds=("bypass_merge",))),
        30,
        "the merge record",
    )
    [merge] = events_for_pr(engine, "acme/observed", pr.number, kinds=("bypass_merge",))
    data = merge.data()
    assert data["observed"] is True and data["check_conclusion"] == "neutral"
    assert data["bypass"] is True and data["break_glass"] is False


def test_an_invalid_mode_fails_the_check_never_observes(stack: LocalStack) -> None:
    stack.sim.create_repo(
        "acme/typo", {**FILES, ".github/countersign.yml": CONFIG + "mode: observing\n"}
    )
    stack.wait_processed()
    _, run = price_cut(stack, "acme/typo")
    assert run.conclusion == "failure"
    assert (run.title or "").startswith("Failed: invalid repository config")
    assert "mode: Input should be 'enforce' or 'observe'" in (run.title or "")
    assert ".github/countersign.yml:5" in (run.summary or "")


def test_an_observed_pr_does_not_block_the_merge_queue(stack: LocalStack) -> None:
    """The group check of an observed PR is `neutral` too, naming what enforcing would decide."""
    pr, run = price_cut(stack, "acme/observed")
    assert run.conclusion == "neutral"
    queue = stack.sim.merge_queue
    group = queue.enqueue(pr, by="bob")

    def group_checks() -> list[CheckRun]:
        runs = stack.sim.check_runs_for("acme/observed", group.head_sha)
        return [c for c in runs if c.name == "countersign" and c.status == "completed"]

    stack.sim.wait_for(lambda: bool(group_checks()), 30, "the group check")
    [group_check] = group_checks()
    assert group_check.conclusion == "neutral"
    assert (group_check.title or "").startswith("Merge group observed:")
    assert "enforced, it would be `action_required`" in (group_check.title or "")
    assert stack.runtime is not None
    [record] = events_for_pr(
        stack.runtime.engine, "acme/observed", pr.number, kinds=("merge_group",)
    )
    assert record.data()["conclusion"] == "neutral"
    assert queue.advance(group) == "merged"
