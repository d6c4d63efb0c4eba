"""Issue #20, "Stale plans", end to end on SQLite and PostgreSQL: a plan is for a head *and* a
base. The base moves in the planned directory (a direct push: GitHub sends `push`, no PR event),
the plan goes stale and the check waits for a new one; the new plan keeps the approvals given
against the old one when it is the same in the approvers' scope, and voids them when it differs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.core.snapshot import PullRequestSnapshot, TerraformPlan
from app.demo.stack import LocalStack
from app.github.client import CallLog
from app.service.base_moves import with_base_moves
from app.sim.oidc import issuer_for
from app.sim.state import PullRequest
from app.store.plans import plans_for
from app.store.tables import DELIVERIES
from tests.service._plans import MAIN_TF, REPO, SETUP, replace_plan, wait_check
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e

ENGINE_SWAP = {"infra/prod/main.tf": MAIN_TF.replace('"mysql"', '"postgres"')}


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def main_tip(stack: LocalStack) -> str:
    return stack.sim.world.repos[REPO.lower()].branches["main"]


def post_plan(stack: LocalStack, pr: PullRequest, plan: dict[str, Any], base: str | None) -> str:
    """Post `plan` for the PR's head as its plan workflow would, made against `base`."""
    token = issuer_for(stack.sim).token(REPO, pr.head_sha, pr=pr.number)
    answer = httpx.post(
        f"{stack.url}/api/plans/{REPO}/{pr.head_sha}" + (f"?base={base}" if base else ""),
        headers={"Authorization": f"Bearer {token}"},
        json={"dir": "infra/prod", "plan": plan},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["sha256"])


def approved_then_stale(stack: LocalStack, branch: str) -> tuple[PullRequest, str, str]:
    """An approved PR with a plan; then the base moves in infra/prod. (PR, old tip, new tip)."""
    pr = stack.sim.open_pr(
        REPO,
        "infra-bot[bot]",
        branch,
        ENGINE_SWAP,
        title="Move orders to PostgreSQL",
        body="Engine swap.\n\nAgent-Run-Id: r-stale",
    )
    head = pr.head_sha
    wait_check(stack, pr, head, "action_required", "Waiting for the plan")
    old_tip = main_tip(stack)
    first = post_plan(stack, pr, replace_plan(), old_tip)
    wait_check(stack, pr, head, "action_required", "Tier 3")
    stack.sim.review(pr, "bob", "APPROVED")
    stack.sim.review(pr, "carol", "APPROVED")
    wait_check(stack, pr, head, "success", "Tier 3")

    new_tip = stack.sim.deployments.push_branch(
        REPO, {"infra/prod/variables.tf": 'variable "size" {}\n'}, by="carol", message="size"
    )
    run = wait_check(stack, pr, head, "action_required", "infra/prod: plan")
    assert run.title == (
        f"infra/prod: plan {first[:12]} is stale: base moved from {old_tip[:7]} to "
        f"{new_tip[:7]}, changing infra/prod/variables.tf; post a new plan"
    )
    return pr, old_tip, new_tip


def test_a_new_plan_the_same_in_scope_keeps_the_approvals(stack: LocalStack) -> None:
    pr, _, new_tip = approved_then_stale(stack, "agent/stale-same")
    rerun = {**replace_plan(), "timestamp": "2026-12-07T20:00:00Z"}  # another digest, same plan
    post_plan(stack, pr, rerun, new_tip)
    run = wait_check(stack, pr, pr.head_sha, "success", "Tier 3")
    assert "2 of 2 approvals" in run.title
    assert "approved stale plan" not in (run.summary or "")


def test_a_new_plan_that_differs_in_scope_voids_the_approvals(stack: LocalStack) -> None:
    pr, _, new_tip = approved_then_stale(stack, "agent/stale-differs")
    bigger = replace_plan()
    change = bigger["resource_changes"][0]["change"]
    change["after"] = {**change["after"], "instance_class": "db.r6g.4xlarge"}
    post_plan(stack, pr, bigger, new_tip)
    run = wait_check(stack, pr, pr.head_sha, "action_required", "Tier 3")
    assert "0 of 2 approvals" in run.title
    summary = (run.summary or "").replace("\\", "")
    assert "approved stale plan" in summary, summary


def test_a_base_move_elsewhere_leaves_the_plan_fresh(stack: LocalStack) -> None:
    pr = stack.sim.open_pr(
        REPO,
        "infra-bot[bot]",
        "agent/stale-elsewhere",
        ENGINE_SWAP,
        title="Swap",
        body="Swap.\n\nAgent-Run-Id: r-else",
    )
    post_plan(stack, pr, replace_plan(), base=None)  # no base: the tip when first read
    wait_check(stack, pr, pr.head_sha, "action_required", "Tier 3")
    (plan,) = plans_for(stack.runtime.engine, REPO, pr.head_sha)  # type: ignore[arg-type]
    assert plan.provenance is not None
    assert (plan.provenance.base_sha, plan.provenance.base_assumed) == (main_tip(stack), True)
    tip = stack.sim.deployments.push_branch(
        REPO, {"docs/notes.md": "x\n"}, by="carol", message="docs"
    )
    queued = f"push-{tip[:12]}-{pr.number}"  # the push re-queued the PR (it has a plan)

    def reevaluated() -> bool:
        with stack.runtime.engine.connect() as conn:  # type: ignore[union-attr]
            status = conn.execute(
                sa.select(DELIVERIES.c.status).where(DELIVERIES.c.id == queued)
            ).scalar_one_or_none()
        return status == "done"

    stack.sim.wait_for(reevaluated, 30, f"delivery {queued} handled")
    run = wait_check(stack, pr, pr.head_sha, "action_required", "Tier 3")
    assert "is stale" not in (run.summary or "")


def unread(plan: TerraformPlan) -> TerraformPlan:
    """The plan as posted, before the service recorded the base it assumed (it may have by now)."""
    provenance = plan.provenance
    if provenance is None or not provenance.base_assumed:
        return plan
    posted = provenance.model_copy(update={"base_sha": "", "base_assumed": False})
    return plan.model_copy(update={"provenance": posted})


def test_one_compare_answers_for_the_prs_base_and_the_assumed_tip(stack: LocalStack) -> None:
    """A plan without a base and one made against the PR's `base.sha` (which GitHub leaves where
    the PR was opened): one compare of `base.sha` with the branch tells both, and still finds the
    second plan stale after the base moved in its directory."""
    pr = stack.sim.open_pr(
        REPO, "infra-bot[bot]", "agent/one-compare", ENGINE_SWAP, title="Swap", body="Swap."
    )
    post_plan(stack, pr, replace_plan(), base=pr.base_sha)
    stack.sim.deployments.push_branch(
        REPO, {"infra/prod/variables.tf": 'variable "size" {}\n'}, by="carol", message="size"
    )
    post_plan(stack, pr, {**replace_plan(), "timestamp": "2026-12-07T20:00:00Z"}, base=None)
    engine = stack.runtime.engine
    assert engine is not None and stack.runtime.github is not None
    plans = tuple(map(unread, plans_for(engine, REPO, pr.head_sha)))  # as if not read yet
    assert len(plans) == 2
    snapshot = PullRequestSnapshot(
        repo=REPO, head_sha=pr.head_sha, base_sha=pr.base_sha, base_ref="main", plans=plans
    )
    calls = CallLog()
    inst = stack.sim.world.installation_for(REPO)
    assert inst is not None
    moved = with_base_moves(stack.runtime.github.installation(inst.id, calls), engine, snapshot)
    assert [c for c in calls.calls if "/compare/" in c] == [
        f"GET /repos/{REPO}/compare/{pr.base_sha}...main > 200"
    ]
    moves = {m.from_sha: m for m in moved.base_moves}
    assert moves[pr.base_sha].files == ("infra/prod/variables.tf",)
    assert moves[main_tip(stack)].files == ()
