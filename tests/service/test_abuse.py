"""Abuse: the ways an agent (or a person helping it) might slip past the gate, each refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.demo.stack import LocalStack
from app.sim.state import PullRequest
from app.store.audit.store import events_for_pr
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e
REPO = "acme/infra"
DB = """resource "aws_db_instance" "orders" {{
  identifier     = "orders"
  instance_class = "{size}"
}}
"""
SETUP: dict[str, Any] = {
    "org": "acme",
    "users": ["alice", "bob", "carol", {"login": "infra-bot[bot]", "type": "Bot"}],
    "teams": {"platform": ["alice", "bob"], "security": ["carol"]},
    "repos": {
        REPO: {
            "files": {
                "infra/db.tf": DB.format(size="db.t3.large"),
                "infra/cache.tf": 'resource "aws_sns_topic" "alerts" {\n  name = "alerts"\n}\n',
                "docs/notes.md": "# Notes\n",
                ".github/CODEOWNERS": "* @acme/platform\n/infra/db.tf @alice\n/infra/cache.tf @bob\n",
                ".github/countersign.yml": 'approvers:\n  change_board: ["@acme/security"]\n',
            }
        }
    },
    "install": True,
}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with local_stack(f"sqlite:///{tmp_path_factory.mktemp('abuse') / 'c.db'}") as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def conclusion(stack: LocalStack, pr: PullRequest, *wanted: str) -> Any:
    def done() -> bool:
        run = stack.sim.latest_check(pr)
        return run is not None and run.status == "completed" and run.conclusion in wanted

    stack.sim.wait_for(done, 30, f"check in {wanted}")
    stack.wait_processed()
    return stack.sim.latest_check(pr)


def last_report(stack: LocalStack, pr: PullRequest) -> dict[str, Any]:
    assert stack.runtime is not None
    events = events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("evaluation",))
    return dict(events[-1].data()["report"])


def approvers(report: dict[str, Any]) -> dict[str, bool]:
    return {a["login"]: a["carried"] for a in report["approvals"]["approvals"]}


def resize(stack: LocalStack) -> PullRequest:
    return stack.sim.open_pr(
        REPO,
        "infra-bot[bot]",
        "agent/resize",
        {"infra/db.tf": DB.format(size="db.r6g.large")},
        title="Resize",
        body="x\n\nAgent-Run-Id: run_resize",
    )


def test_forged_run_id_on_a_humans_pr_is_not_trusted(stack: LocalStack) -> None:
    pr = stack.sim.open_pr(
        REPO,
        "alice",
        "alice/notes",
        {"docs/notes.md": "# Notes\nmore\n"},
        title="Notes",
        body="x\n\nAgent-Run-Id: run_forged",
    )
    run = conclusion(stack, pr, "success")
    assert run.title.startswith("Not an agent change")
    report = last_report(stack, pr)
    assert report["agent"]["is_agent"] is False and report["agent"]["run_id"] is None
    assert "ignored: not an agent change" in report["agent"]["problems"][0]


def test_a_human_pushing_to_an_agent_pr_keeps_it_an_agent_change(stack: LocalStack) -> None:
    pr = resize(stack)
    conclusion(stack, pr, "action_required")
    stack.sim.push(
        pr, {"infra/db.tf": DB.format(size="db.r6g.xlarge")}, message="bigger", author="alice"
    )
    conclusion(stack, pr, "action_required")
    report = last_report(stack, pr)
    assert report["agent"]["is_agent"] is True and report["agent"]["id"] == "infra-bot"
    # …and alice, who pushed, is still just a reviewer whose approval counts only if eligible.


def report_at(stack: LocalStack, pr: PullRequest, sha: str, test: Any = None) -> dict[str, Any]:
    """The newest evaluation recorded for head `sha` (optionally one that satisfies `test`)."""
    assert stack.runtime is not None

    def found() -> dict[str, Any] | None:
        events = events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("evaluation",))  # type: ignore[union-attr]
        for event in reversed(events):
            if event.head_sha == sha:
                report = dict(event.data()["report"])
                return report if test is None or test(report) else None
        return None

    stack.sim.wait_for(lambda: found() is not None, 30, f"an evaluation of {sha[:7]}")
    report = found()
    assert report is not None
    return report


def test_in_scope_push_after_approval_voids_it_out_of_scope_keeps_it(stack: LocalStack) -> None:
    pr = resize(stack)
    conclusion(stack, pr, "action_required")
    stack.sim.review(pr, "alice", "APPROVED")  # alice owns infra/db.tf
    stack.sim.review(pr, "bob", "APPROVED")  # bob owns infra/cache.tf
    report_at(stack, pr, pr.head_sha, lambda r: set(approvers(r)) == {"alice", "bob"})
    # The agent edits a file alice does not own: her approval is carried (her content unchanged);
    # bob's is not (his file changed).
    stack.sim.push(
        pr,
        {"infra/cache.tf": 'resource "aws_sns_topic" "alerts" {\n  name = "alerts-v2"\n}\n'},
        message="x\n\nAgent-Run-Id: run_resize",
    )
    report = report_at(stack, pr, pr.head_sha)
    assert approvers(report) == {"alice": True}
    # The agent changes the database again: alice's approval no longer counts either.
    stack.sim.push(
        pr,
        {"infra/db.tf": DB.format(size="db.r6g.4xlarge")},
        message="y\n\nAgent-Run-Id: run_resize",
    )
    report = report_at(stack, pr, pr.head_sha)
    assert approvers(report) == {}
    assert report["approvals"]["satisfied"] is False


def test_editing_the_run_id_after_approval_is_audited(stack: LocalStack) -> None:
    pr = resize(stack)
    conclusion(stack, pr, "action_required")
    stack.sim.review(pr, "alice", "APPROVED")
    stack.wait_processed()  # the review is evaluated before the body changes
    stack.sim.edit_pr(pr, body="x\n\nAgent-Run-Id: run_other", by="infra-bot[bot]")
    assert stack.runtime is not None
    stack.sim.wait_for(
        lambda: bool(
            events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("run_id_changed",))
        ),  # type: ignore[union-attr]
        30,
        "the run-id change record",
    )
    change = events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("run_id_changed",))[0]
    assert change.data()["before"] == "run_resize" and change.data()["after"] == "run_other"


def test_the_head_cannot_edit_policies_or_config_to_pass(stack: LocalStack) -> None:
    pr = stack.sim.open_pr(
        REPO,
        "infra-bot[bot]",
        "agent/relax",
        {
            "infra/db.tf": DB.format(size="db.r6g.large"),
            "policies/propose.cedar": '@id("all")\npermit (principal, action, resource);\n',
            ".github/countersign.yml": "enforce_for: agents\napprovers: {}\n",
        },
        title="Relax",
        body="x\n\nAgent-Run-Id: run_relax",
    )
    run = conclusion(stack, pr, "failure")
    assert "no-agent-governance" in run.title
    report = last_report(stack, pr)
    # The base branch's config still applies: the change board is still named.
    assert report["tier"] == "blocked" and report["policy"]["decision"] == "deny"
