"""The gate holds until production: the real service answers GitHub's deployment protection rule.

An environment whose custom protection rule is Countersign waits for our answer; we approve only
when every merge since the environment's last approved deployment was allowed by the gate (or
reviewed after a bypass), agent merges carry a run ID, and nothing reached the branch without a
pull request. Each answer is a `deployment_decision` in the audit chain, and a merge's evidence
shows where it was deployed. Runs on SQLite and PostgreSQL (module_db_url).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

import pytest

from app.console.queries import record_bypass_review
from app.demo.stack import LocalStack
from app.service.handlers import EventHandlers
from app.sim.deployments import Deployment
from app.sim.faults import Fault
from app.sim.state import PullRequest
from app.store.audit.evidence import build_packet, render_html
from app.store.audit.store import events_for_pr
from app.store.audit.verify import verify_chain
from app.store.tables import AuditEvent, Delivery
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e

REPO = "acme/platform"
CATALOG = '{\n  "plans": [\n    {"plan_code": "pro-monthly", "monthly_usd": 49.0}\n  ]\n}\n'
SETUP: dict[str, Any] = {
    "org": "acme",
    "users": ["alice", "bob", "sam", {"login": "pricing-bot[bot]", "type": "Bot"}],
    "teams": {"finance": ["alice"], "platform": ["bob"]},
    "repos": {
        REPO: {
            "files": {
                "README.md": "# platform\n",
                ".github/CODEOWNERS": "* @acme/platform\n/catalog/ @acme/finance\n",
                ".github/countersign.yml": (
                    "enforce_for: all\n"
                    "paths:\n"
                    '  "catalog/**.json": {kind: pricing, key: plan_code, '
                    "price_fields: [monthly_usd]}\n"
                    "approvers:\n"
                    '  pricing: ["@acme/finance"]\n'
                    "deploy:\n"
                    "  environments:\n"
                    "    production: {}\n"
                    "    staging: {allow_direct_pushes: true}\n"
                ),
                "catalog/plans.json": CATALOG,
            }
        }
    },
    "install": True,
}


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    s = fresh(running, SETUP)
    for name in ("production", "staging", "preview"):
        s.sim.deployments.add_environment(REPO, name)
    return s


def engine(stack: LocalStack) -> Any:
    assert stack.runtime is not None
    return stack.runtime.engine


def wait_check(stack: LocalStack, pr: PullRequest, conclusion: str) -> None:
    def done() -> bool:
        run = stack.sim.latest_check(pr)
        return run is not None and run.status == "completed" and run.conclusion == conclusion

    stack.sim.wait_for(done, 30, f"check {conclusion} on #{pr.number}")


def price_change(stack: LocalStack, branch: str, price: str) -> PullRequest:
    """An agent's price change (Tier 2: finance must approve)."""
    trailer = "\n\nAgent-Run-Id: run_deploy_1"
    pr = stack.sim.open_pr(
        REPO,
        "pricing-bot[bot]",
        branch,
        {"catalog/plans.json": CATALOG.replace("49.0", price)},
        title=f"Pro at {price}",
        body=f"Pricing.{trailer}",
    )
    wait_check(stack, pr, "action_required")
    return pr


def merged(
    stack: LocalStack,
    pr: PullRequest,
    *,
    approved: bool,
    method: Literal["merge", "squash", "rebase"] = "merge",
) -> AuditEvent:
    """Merge `pr` (approved by finance first, or by an admin bypassing the check)."""
    if approved:
        stack.sim.review(pr, "alice", "APPROVED")
        wait_check(stack, pr, "success")
    stack.sim.merge(pr, by="bob", admin=not approved, method=method)
    kinds = ("merge", "bypass_merge")
    stack.sim.wait_for(
        lambda: bool(events_for_pr(engine(stack), REPO, pr.number, kinds=kinds)),
        30,
        f"the merge record of #{pr.number}",
    )
    [event] = events_for_pr(engine(stack), REPO, pr.number, kinds=kinds)
    return event


def deploy(stack: LocalStack, environment: str = "production") -> Deployment:
    """Deploy the default branch's tip and wait for Countersign's answer."""
    deployment = stack.sim.deployments.deploy(REPO, environment, by="bob")
    stack.sim.wait_for(
        lambda: deployment.state != "waiting", 30, f"an answer for deployment {deployment.id}"
    )
    return deployment


def rerun(stack: LocalStack, deployment: Deployment) -> Deployment:
    """Re-run the deployment's job and wait for Countersign's answer."""
    again = stack.sim.deployments.rerun(deployment.run_id, by="bob")
    stack.sim.wait_for(lambda: again.state != "waiting", 30, f"an answer for {again.id}")
    return again


def decisions(stack: LocalStack) -> list[dict[str, Any]]:
    from app.store.audit.deployments import _decisions

    return [e.data() for e in reversed(_decisions(engine(stack), REPO))]


def test_an_approved_merge_deploys_and_its_evidence_shows_where(stack: LocalStack) -> None:
    pr = price_change(stack, "agent/pro-45", "45.0")
    merge = merged(stack, pr, approved=True)
    assert merge.kind == "merge"
    deployment = deploy(stack)
    assert deployment.state == "approved", deployment.comment
    assert deployment.comment.startswith("Countersign approved: ")
    assert "1 merge(s) (first approved deployment)" in deployment.comment
    [decision] = decisions(stack)
    assert decision["state"] == "approved" and decision["environment"] == "production"
    assert decision["workflow_run_id"] == deployment.run_id
    assert decision["merges"] == [
        {"sha": pr.merge_commit_sha, "pr": pr.number, "seq": merge.seq, "state": "allowed"}
    ]
    packet = build_packet(engine(stack), REPO, pr.number)
    assert [(d.environment, d.workflow_run_id) for d in packet.deployments] == [
        ("production", deployment.run_id)
    ]
    page = render_html(packet)
    assert "<h2>Deployed</h2>" in page and f"<code>{deployment.sha[:12]}</code>" in page

    # The next deployment covers only what merged since this one.
    second = price_change(stack, "agent/pro-44", "44.0")
    merged(stack, second, approved=True)
    again = deploy(stack)
    assert again.state == "approved", again.comment
    assert f"1 merge(s) since {deployment.sha[:7]}" in again.comment
    assert verify_chain(engine(stack)).ok


def test_a_bypass_merge_is_rejected_until_its_post_review(stack: LocalStack) -> None:
    pr = price_change(stack, "agent/pro-29", "29.0")
    merge = merged(stack, pr, approved=False)
    assert merge.kind == "bypass_merge"
    first = deploy(stack)
    assert first.state == "rejected"
    assert f"bypass merge(s) #{pr.number} still need post-review" in first.comment

    # A re-run of the rejected job asks again (same run, new deployment) and is decided anew.
    still = rerun(stack, first)
    assert still.state == "rejected" and still.run_id == first.run_id

    record_bypass_review(engine(stack), REPO, pr.number, reviewer="sam", note="checked the price")
    second = rerun(stack, first)
    assert second.state == "approved", second.comment
    states = [(d["state"], [m["state"] for m in d["merges"]]) for d in decisions(stack)]
    assert states == [
        ("rejected", ["needs_post_review"]),
        ("rejected", ["needs_post_review"]),
        ("approved", ["reviewed"]),
    ]


def test_a_direct_push_is_named_and_rejected_unless_the_environment_allows_it(
    stack: LocalStack,
) -> None:
    pr = price_change(stack, "agent/pro-47", "47.0")
    merged(stack, pr, approved=True)
    assert deploy(stack).state == "approved"
    assert deploy(stack, "staging").state == "approved"
    pushed = stack.sim.deployments.push_branch(
        REPO, {"catalog/plans.json": CATALOG.replace("49.0", "1.0")}, by="bob", message="oops"
    )
    refused = deploy(stack)
    assert refused.state == "rejected"
    assert f"direct push without a pull request: {pushed[:7]}" in refused.comment
    allowed = deploy(stack, "staging")
    assert allowed.state == "approved", allowed.comment
    assert f"direct pushes allowed here: {pushed[:7]}" in allowed.comment


def test_the_commits_a_rebase_merge_wrote_deploy_with_it_not_as_direct_pushes(
    stack: LocalStack,
) -> None:
    first = price_change(stack, "agent/pro-46", "46.0")
    merged(stack, first, approved=True)
    assert deploy(stack).state == "approved"
    pr = price_change(stack, "agent/pro-43", "45.0")
    stack.sim.push(pr, {"catalog/plans.json": CATALOG.replace("49.0", "43.0")}, message="43")
    wait_check(stack, pr, "action_required")
    merged(stack, pr, approved=True, method="rebase")
    written = stack.sim.pr(pr).rebased_shas
    assert len(written) == 2 and written[-1] == pr.merge_commit_sha

    # The rebase's first commit alone is half a PR, never reviewed as such: not covered.
    half = stack.sim.deployments.deploy(REPO, "production", by="bob", ref=written[0])
    stack.sim.wait_for(lambda: half.state != "waiting", 30, "an answer for the half deploy")
    assert half.state == "rejected"
    assert f"direct push without a pull request: {written[0][:7]}" in half.comment

    deployment = deploy(stack)
    assert deployment.state == "approved", deployment.comment
    assert f"1 commit(s) written by a rebase merge: {written[0][:7]}" in deployment.comment
    decision = decisions(stack)[-1]
    assert decision["rebased"] == [written[0]] and decision["direct_pushes"] == []
    assert [m["pr"] for m in decision["merges"]] == [pr.number]


def test_an_environment_the_config_does_not_name_is_rejected_saying_how_to_guard_it(
    stack: LocalStack,
) -> None:
    unknown = deploy(stack, "preview")
    assert unknown.state == "rejected"
    assert "names no environment 'preview'" in unknown.comment
    assert "deploy: {environments: {preview: {}}}" in unknown.comment
    [decision] = decisions(stack)
    assert decision["state"] == "rejected" and decision["environment"] == "preview"


def test_github_failing_while_deciding_rejects_with_the_reason(stack: LocalStack) -> None:
    stack.sim.faults.inject("GET", "/repos/*/*/compare/**", Fault.error(500), times=None)
    try:
        refused = deploy(stack)
    finally:
        stack.sim.faults.clear()
    assert refused.state == "rejected"
    assert "could not decide, so it rejects: GitHub answered 500" in refused.comment
    [decision] = decisions(stack)
    assert decision["state"] == "rejected" and "500" in (decision["error"] or "")


def test_an_answer_github_drops_is_retried_and_the_decision_recorded_once(
    stack: LocalStack,
) -> None:
    pr = price_change(stack, "agent/pro-43", "43.0")
    merged(stack, pr, approved=True)
    path = "/repos/*/*/actions/runs/*/deployment_protection_rule"
    stack.sim.faults.inject("POST", path, Fault.error(502), times=1)
    deployment = deploy(stack)
    assert deployment.state == "approved", deployment.comment
    answers = [r for r in stack.sim.requests if "deployment_protection_rule" in r]
    assert [a.rsplit(" ", 1)[1] for a in answers] == ["502", "204"]
    assert len(decisions(stack)) == 1


def test_a_broken_config_rejects_naming_the_file_and_line(stack: LocalStack) -> None:
    stack.sim.deployments.push_branch(
        REPO,
        {".github/countersign.yml": "deploy:\n  environments:\n    staging: {allow: yes}\n"},
        by="bob",
        message="Break the config",
    )
    refused = deploy(stack, "staging")
    assert refused.state == "rejected"
    assert ".github/countersign.yml:3: deploy.environments.staging.allow" in refused.comment


def test_a_deploy_before_the_merge_is_recorded_waits_for_it_instead_of_calling_it_a_push(
    stack: LocalStack,
) -> None:
    pr = price_change(stack, "agent/pro-42", "42.0")
    stack.sim.review(pr, "alice", "APPROVED")
    wait_check(stack, pr, "success")
    stack.sim.drop_next_deliveries(1)  # GitHub's pull_request.closed is late
    stack.sim.merge(pr, by="bob")
    deployment = stack.sim.deployments.deploy(REPO, "production", by="bob")
    asked = f"/commits/{pr.merge_commit_sha}/pulls > 200"
    stack.sim.wait_for(
        lambda: any(r.endswith(asked) for r in stack.sim.requests), 30, "the question"
    )
    assert deployment.state == "waiting" and decisions(stack) == []
    [late] = [d for d in stack.sim.deliveries if d.event == "pull_request" and d.action == "closed"]
    stack.sim.redeliver(late.id)
    stack.sim.wait_for(lambda: deployment.state != "waiting", 60, "Countersign's answer")
    assert deployment.state == "approved", deployment.comment
    [decision] = decisions(stack)
    assert [m["pr"] for m in decision["merges"]] == [pr.number]


def test_a_delivery_given_up_after_its_last_retry_is_answered_rejected(stack: LocalStack) -> None:
    stack.sim.drop_next_deliveries(1)  # the worker never sees it: only the give-up answers
    deployment = stack.sim.deployments.deploy(REPO, "production", by="bob")
    stack.sim.wait_idle()
    [hook] = [d for d in stack.sim.deliveries if d.event == "deployment_protection_rule"]
    assert stack.runtime is not None
    delivery = Delivery(
        id=hook.guid,
        event=hook.event,
        action=hook.action,
        payload=hook.body,
        received_at=datetime.now(UTC),
        next_attempt_at=datetime.now(UTC),
    )
    EventHandlers(stack.runtime).give_up(delivery, "GitHub answered 502 eight times")
    assert deployment.state == "rejected"
    assert "could not decide (GitHub answered 502 eight times); re-run the job" in (
        deployment.comment
    )


REFUSE_DECISIONS = {  # a database that takes every event but a deployment decision (disk full)
    "sqlite": [
        "CREATE TRIGGER test_refuse_decisions BEFORE INSERT ON audit_event "
        "WHEN NEW.kind = 'deployment_decision' BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION test_refuse_decisions() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.kind = 'deployment_decision' THEN RAISE EXCEPTION 'disk full'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER test_refuse_decisions BEFORE INSERT ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION test_refuse_decisions()",
    ],
}
ALLOW_DECISIONS = {
    "sqlite": ["DROP TRIGGER test_refuse_decisions"],
    "postgresql": [
        "DROP TRIGGER test_refuse_decisions ON audit_event",
        "DROP FUNCTION test_refuse_decisions()",
    ],
}


def _run_sql(stack: LocalStack, statements: dict[str, list[str]]) -> None:
    with engine(stack).begin() as conn:
        for statement in statements[conn.dialect.name]:
            conn.exec_driver_sql(statement)


def test_an_approval_that_cannot_be_recorded_is_answered_rejected(stack: LocalStack) -> None:
    pr = price_change(stack, "agent/pro-44", "44.0")
    merged(stack, pr, approved=True)
    _run_sql(stack, REFUSE_DECISIONS)
    try:
        refused = deploy(stack)
    finally:
        _run_sql(stack, ALLOW_DECISIONS)
    assert refused.state == "rejected"
    assert "the decision could not be recorded" in refused.comment
    assert "disk full" in refused.comment
    assert decisions(stack) == []
    assert verify_chain(engine(stack)).ok
    again = rerun(stack, refused)  # nothing was recorded: the re-run is decided anew
    assert again.state == "approved", again.comment
    assert [d["state"] for d in decisions(stack)] == ["approved"]
