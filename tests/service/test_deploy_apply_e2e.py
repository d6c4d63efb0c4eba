"""Apply binding end to end: the plan an apply job posts for the merge commit (`?stage=apply`, a
`push` run's OIDC token) must make the same changes as the plan the PR was approved with, or the
deployment to an environment with `require_plan: true` is rejected, listing the difference.
Runs on SQLite and PostgreSQL (module_db_url).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.demo.stack import LocalStack
from app.sim.deployments import Deployment
from app.sim.oidc import OidcIssuer, issuer_for
from app.sim.state import PullRequest
from app.store.audit.store import events_for_pr
from tests.service._plans import MAIN_TF, REPO, SETUP, post, replace_plan, update_plan, wait_check
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e

CONFIG = SETUP["repos"][REPO]["files"][".github/countersign.yml"]
DEPLOY_SETUP: dict[str, Any] = {
    **SETUP,
    "repos": {
        REPO: {
            **SETUP["repos"][REPO],
            "files": {
                **SETUP["repos"][REPO]["files"],
                ".github/countersign.yml": CONFIG
                + "deploy:\n  environments:\n    production: {require_plan: true}\n",
            },
        }
    },
}


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    s = fresh(running, DEPLOY_SETUP)
    s.sim.deployments.add_environment(REPO, "production")
    return s


def approved_merge(stack: LocalStack, issuer: OidcIssuer) -> PullRequest:
    """An agent's Terraform change, planned (an in-place update), approved and merged."""
    sim = stack.sim
    pr = sim.open_pr(
        REPO,
        "infra-bot[bot]",
        "agent/orders-xl",
        {"infra/prod/main.tf": MAIN_TF.replace("db.r6g.large", "db.r6g.xlarge")},
        title="Bigger orders database",
        body="More memory.\n\nAgent-Run-Id: run_tf_apply",
    )
    head = pr.head_sha
    wait_check(stack, pr, head, "action_required", "Waiting for the plan")
    body = {"dir": "infra/prod", "plan": update_plan()}
    assert post(stack, head, issuer.token(REPO, head, pr=pr.number), body).status_code == 202
    wait_check(stack, pr, head, "action_required", "Tier")
    sim.review(pr, "bob", "APPROVED")
    sim.review(pr, "carol", "APPROVED")
    wait_check(stack, pr, head, "success", "Tier")
    sim.merge(pr, by="bob")
    assert stack.runtime is not None
    engine = stack.runtime.engine
    sim.wait_for(
        lambda: bool(events_for_pr(engine, REPO, pr.number, kinds=("merge",))), 30, "the merge"
    )
    return pr


def post_apply(stack: LocalStack, issuer: OidcIssuer, sha: str, plan: Any) -> httpx.Response:
    """What the apply job does: its push run's token, the plan of the merge commit it applies."""
    token = issuer.token(REPO, sha, event_name="push", head_ref="main")
    return httpx.post(
        f"{stack.url}/api/plans/{REPO}/{sha}?stage=apply",
        headers={"Authorization": f"Bearer {token}"},
        content=json.dumps({"dir": "infra/prod", "plan": plan}),
        timeout=30,
    )


def deploy(stack: LocalStack) -> Deployment:
    deployment = stack.sim.deployments.deploy(REPO, "production", by="bob")
    stack.sim.wait_for(lambda: deployment.state != "waiting", 30, "Countersign's answer")
    return deployment


def test_the_approved_plan_applied_deploys(stack: LocalStack) -> None:
    issuer = issuer_for(stack.sim)
    pr = approved_merge(stack, issuer)
    assert pr.merge_commit_sha is not None
    accepted = post_apply(stack, issuer, pr.merge_commit_sha, update_plan())
    assert accepted.status_code == 202, accepted.text
    deployment = deploy(stack)
    assert deployment.state == "approved", deployment.comment


def test_an_apply_plan_that_differs_is_rejected_with_the_difference(stack: LocalStack) -> None:
    issuer = issuer_for(stack.sim)
    pr = approved_merge(stack, issuer)
    assert pr.merge_commit_sha is not None
    # The database is replaced now (the base moved, or drift): not what was approved.
    assert post_apply(stack, issuer, pr.merge_commit_sha, replace_plan()).status_code == 202
    deployment = deploy(stack)
    assert deployment.state == "rejected"
    assert "the apply plan is not the approved plan: infra/prod: not approved: replace " in (
        deployment.comment
    )
    assert "approved but not in the apply plan: update module.db.aws_db_instance" in (
        deployment.comment
    )


def test_no_apply_plan_or_a_pr_run_s_plan_is_rejected(stack: LocalStack) -> None:
    issuer = issuer_for(stack.sim)
    pr = approved_merge(stack, issuer)
    sha = pr.merge_commit_sha
    assert sha is not None
    missing = deploy(stack)
    assert missing.state == "rejected"
    assert f"no apply plan (stage=apply) counts for {sha[:7]}" in missing.comment
    # A pull_request run cannot post an apply plan; a push run cannot post a PR plan.
    pr_token = issuer.token(REPO, sha, pr=pr.number)
    refused = httpx.post(
        f"{stack.url}/api/plans/{REPO}/{sha}?stage=apply",
        headers={"Authorization": f"Bearer {pr_token}"},
        content=json.dumps({"dir": "infra/prod", "plan": update_plan()}),
        timeout=30,
    )
    assert refused.status_code == 403 and "'pull_request' run may not post plans" in refused.text
    push_token = issuer.token(REPO, sha, event_name="push", head_ref="main")
    body = {"dir": "infra/prod", "plan": update_plan()}
    assert post(stack, sha, push_token, body).status_code == 403
