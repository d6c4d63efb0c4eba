"""Issue #18, findings 1 and 2, end to end: a second plan never lowers the tier, only workflows
the base branch names may post plans, and `/api/plans` stores nothing for a repository the App
is not installed on and rate-limits each repository.

The simulator mints OIDC tokens with GitHub's claim set (event, ref, workflow refs), signed with
its key; the App fetches the keys over HTTP and checks real signatures.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from app.demo.stack import LocalStack
from app.sim.oidc import issuer_for
from app.sim.state import PullRequest
from app.store.tables import DELIVERIES, EVENTS, PLANS
from tests.service._plans import (
    MAIN_TF,
    REPO,
    SETUP,
    latest,
    post,
    replace_plan,
    update_plan,
    wait_check,
)
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e

ENGINE_SWAP = {"infra/prod/main.tf": MAIN_TF.replace('"mysql"', '"postgres"')}


def open_swap(stack: LocalStack, branch: str, run_id: str) -> PullRequest:
    """An agent's PR swapping the database engine (source alone: an update)."""
    return stack.sim.open_pr(
        REPO,
        "infra-bot[bot]",
        branch,
        ENGINE_SWAP,
        title="Move orders to PostgreSQL",
        body=f"Engine swap.\n\nAgent-Run-Id: {run_id}",
    )


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def summary_has(stack: LocalStack, pr: PullRequest, sha: str, text: str) -> None:
    """Wait until the completed check of `sha` says `text` (the effect of a re-evaluation)."""

    def done() -> bool:
        run = latest(stack, pr)
        shown = (run.summary or "").replace("\\", "") if run is not None else ""  # unescaped
        return run is not None and run.head_sha == sha and text in shown

    try:
        stack.sim.wait_for(done, 30, f"{text!r} in the check of {sha[:7]}")
    except TimeoutError:
        run = latest(stack, pr)
        pytest.fail(f"{text!r} not in: {run and run.summary}")


def count(stack: LocalStack, table: sa.Table) -> int:
    with stack.runtime.engine.connect() as conn:  # type: ignore[union-attr]
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_second_plan_never_lowers_the_tier(stack: LocalStack) -> None:
    issuer = issuer_for(stack.sim)
    pr = open_swap(stack, "agent/pg", "r1")
    head = pr.head_sha
    wait_check(stack, pr, head, "action_required", "Waiting for the plan")
    real = post(
        stack,
        head,
        issuer.token(REPO, head, pr=pr.number),
        {"dir": "infra/prod", "plan": replace_plan()},
    )
    assert real.status_code == 202, real.text
    wait_check(stack, pr, head, "action_required", "Tier 3")

    # The same workflow posts again (a re-run, or code inside the job): an in-place update.
    second = post(
        stack,
        head,
        issuer.token(REPO, head, pr=pr.number),
        {"dir": "infra/prod", "plan": update_plan()},
    )
    assert second.status_code == 202, second.text
    summary_has(stack, pr, head, "2 different plans of infra/prod")
    run = wait_check(stack, pr, head, "action_required", "Tier 3")
    assert "replace-stateful" in run.summary and "judged together" in run.summary
    assert real.json()["sha256"][:12] in run.summary and second.json()["sha256"][:12] in run.summary


def test_only_workflows_the_base_branch_names_may_post(stack: LocalStack) -> None:
    issuer = issuer_for(stack.sim)
    pr = open_swap(stack, "agent/pg2", "r2")
    head = pr.head_sha
    wait_check(stack, pr, head, "action_required", "Waiting for the plan")
    body = {"dir": "infra/prod", "plan": update_plan()}

    # A workflow the PR could add: stored and audited, but it does not count.
    evil = issuer.token(REPO, head, pr=pr.number, workflow=".github/workflows/evil.yml")
    assert post(stack, head, evil, body).status_code == 202
    summary_has(
        stack, pr, head, "evil.yml of acme/platform is not named in terraform.plan_workflows"
    )
    assert latest(stack, pr).title.startswith("Waiting for the plan of infra/prod")

    # The named workflow, but run from the PR's own branch (a `push` run): refused at the door.
    pushed = issuer.token(REPO, head, event_name="push", head_ref="agent/pg2")
    refused = post(stack, head, pushed, body)
    assert refused.status_code == 403 and "'push' run may not post plans" in refused.text
    # The named workflow at another PR's merge ref: stored, does not count for this PR.
    other = issuer.token(REPO, head, pr=pr.number + 40)
    assert post(stack, head, other, body).status_code == 202
    summary_has(stack, pr, head, f"refs/pull/{pr.number + 40}/merge")

    # The named workflow for this PR counts.
    real = post(
        stack,
        head,
        issuer.token(REPO, head, pr=pr.number),
        {"dir": "infra/prod", "plan": replace_plan()},
    )
    assert real.status_code == 202
    run = wait_check(stack, pr, head, "action_required", "Tier 3")
    assert "replace-stateful" in run.summary


def test_no_plan_workflows_configured_means_no_oidc_plan_counts(running: LocalStack) -> None:
    setup = {**SETUP, "repos": {REPO: {**SETUP["repos"][REPO]}}}  # type: ignore[index]
    files = dict(setup["repos"][REPO]["files"])  # type: ignore[index]
    files[".github/countersign.yml"] = "terraform: {plans: required, dirs: ['infra/*']}\n"
    setup["repos"][REPO]["files"] = files  # type: ignore[index]
    stack = fresh(running, setup)
    issuer = issuer_for(stack.sim)
    pr = open_swap(stack, "agent/pg3", "r3")
    head = pr.head_sha
    wait_check(stack, pr, head, "action_required", "Waiting for the plan")
    token = issuer.token(REPO, head, pr=pr.number)
    assert (
        post(stack, head, token, {"dir": "infra/prod", "plan": replace_plan()}).status_code == 202
    )
    summary_has(stack, pr, head, "name it in terraform.plan_workflows of .github/countersign.yml")
    assert latest(stack, pr).title.startswith("Waiting for the plan")


def test_a_repository_the_app_is_not_installed_on_gets_404_and_nothing_is_stored(
    stack: LocalStack,
) -> None:
    issuer = issuer_for(stack.sim)
    sha = "c" * 40
    before = (count(stack, EVENTS), count(stack, DELIVERIES), count(stack, PLANS))
    stack.sim.requests.clear()
    for _ in range(3):
        answer = post(
            stack,
            sha,
            issuer.token("acme/ghost", sha),
            {"dir": "x", "plan": replace_plan()},
            repo="acme/ghost",
        )
        assert answer.status_code == 404 and "not installed on acme/ghost" in answer.text
    assert (count(stack, EVENTS), count(stack, DELIVERIES), count(stack, PLANS)) == before
    asked = [r for r in stack.sim.requests if "/installation" in r and "access_tokens" not in r]
    assert asked == ["GET /repos/acme/ghost/installation > 404"]  # cached: asked once


def test_plan_uploads_are_rate_limited_per_repository(db_url: str) -> None:
    """Settings of its own (a burst of two), so a stack of its own."""
    with local_stack(db_url, plan_burst=2, plan_rate_per_minute=1) as running:
        stack = fresh(running, SETUP)
        issuer = issuer_for(stack.sim)
        sha = "d" * 40
        body = {"dir": "infra/prod", "plan": replace_plan()}
        for _ in range(2):
            assert post(stack, sha, issuer.token(REPO, sha), body).status_code == 202
        limited = post(stack, sha, issuer.token(REPO, sha), body)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert count(stack, PLANS) == 2


def test_a_pull_request_run_posts_with_its_test_merge_commit(stack: LocalStack) -> None:
    """GitHub's `pull_request` token names the test merge commit as `sha`: it counts for the
    head that commit merges, confirmed with GitHub, and never for a later head."""
    issuer = issuer_for(stack.sim)
    pr = open_swap(stack, "agent/pg4", "r4")
    head = pr.head_sha
    wait_check(stack, pr, head, "action_required", "Waiting for the plan")
    body = {"dir": "infra/prod", "plan": replace_plan()}
    forged = issuer.token(REPO, "e" * 40, pr=pr.number)  # not this PR's test merge
    refused = post(stack, head, forged, body)
    assert refused.status_code == 403 and "not the test merge" in refused.text
    stale = issuer.for_pull_request(REPO, pr)
    accepted = post(stack, head, stale, body)
    assert accepted.status_code == 202, accepted.text
    wait_check(stack, pr, head, "action_required", "Tier 3")

    second = stack.sim.push(
        pr,
        {"infra/prod/main.tf": ENGINE_SWAP["infra/prod/main.tf"] + "\n"},
        message="x\n\nAgent-Run-Id: r4",
    )
    wait_check(stack, pr, second, "action_required", "Waiting for the plan")
    refused = post(stack, second, stale, body)  # the old head's test merge
    assert refused.status_code == 403
    assert post(stack, second, issuer.for_pull_request(REPO, pr), body).status_code == 202
    wait_check(stack, pr, second, "action_required", "Tier 3")
