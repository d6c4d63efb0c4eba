"""Who proposed a change, end to end: the simulator answers like GitHub (null accounts for
unlinked commit e-mails, Copilot's bot and co-author trailers) and the App still gates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.demo.stack import LocalStack
from app.sim.state import PullRequest
from app.store.audit.store import events_for_pr
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e
REPO = "acme/platform"
DB_TF = """resource "aws_db_instance" "orders" {
  identifier     = "orders-prod"
  engine         = "postgres"
  instance_class = "db.r6g.large"
}
"""
SETUP: dict[str, Any] = {
    "org": "acme",
    "users": ["alice", "bob", "carol", "acme-codex", {"login": "Copilot", "type": "Bot"}],
    "teams": {"platform": ["alice", "bob"]},
    "repos": {
        REPO: {
            "files": {
                "README.md": "# platform\n",
                ".github/CODEOWNERS": "* @acme/platform\n",
                ".github/countersign.yml": 'paths:\n  "infra/prod/**": {environment: production}\n',
                "infra/prod/db.tf": DB_TF,
                "app.cfg": "a=1\n",
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
    return fresh(running, SETUP)


def evaluation(stack: LocalStack, pr: PullRequest, count: int = 1) -> dict[str, Any]:
    assert stack.runtime is not None
    engine = stack.runtime.engine

    def found() -> list[dict[str, Any]]:
        return [e.data() for e in events_for_pr(engine, REPO, pr.number, kinds=("evaluation",))]

    stack.sim.wait_for(lambda: len(found()) >= count, 20, f"{count} evaluation(s)")
    return found()[-1]


def commits_api(stack: LocalStack, pr: PullRequest) -> list[dict[str, Any]]:
    from app.sim import shapes_pull

    repo = stack.sim.world.repos[REPO]
    return [shapes_pull.commit(stack.sim.world, repo, sha) for sha in pr.commit_shas]


def delete_db(
    stack: LocalStack, commit_author: str, message: str = "Remove orders db"
) -> PullRequest:
    """A human (alice) opens the PR; its only commit is someone else's."""
    return stack.sim.open_pr(
        REPO,
        "alice",
        "cleanup-db",
        {"infra/prod/db.tf": None},
        title="Clean up",
        message=message,
        commit_author=commit_author,
    )


def test_human_pr_with_an_unlinked_agent_commit_is_enforced(stack: LocalStack) -> None:
    pr = delete_db(stack, "ops-agent <ops-agent@runner-17.internal>")
    api = commits_api(stack, pr)[0]
    assert api["author"] is None and api["committer"] is None  # like GitHub
    assert api["commit"]["author"]["email"] == "ops-agent@runner-17.internal"
    data = evaluation(stack, pr)
    agent = data["report"]["agent"]
    assert not agent["is_agent"]
    assert "is not linked to a GitHub account" in agent["unknown_authors"][0]
    assert pr.head_sha[:7] in agent["unknown_authors"][0]
    assert data["conclusion"] in ("action_required", "failure")  # never success unreviewed
    stack.sim.wait_for(
        lambda: getattr(stack.sim.latest_check(pr), "status", None) == "completed", 20, "check"
    )
    run = stack.sim.latest_check(pr)
    assert run is not None and "Unknown commit authors" in (run.summary or "")


def test_unknown_authors_ignore_lets_the_repo_opt_out(stack: LocalStack) -> None:
    stack.sim.world.repos[REPO].required_checks = ()
    # The opt-out lands on the base branch first (config is always read from the base).
    opt_out = stack.sim.open_pr(
        REPO,
        "bob",
        "opt-out",
        {".github/countersign.yml": "unknown_authors: ignore\n"},
        title="Opt out",
    )
    evaluation(stack, opt_out)
    stack.sim.merge(opt_out, by="bob", admin=True)
    pr = delete_db(stack, "Alice Laptop <alice@laptop.local>")
    data = evaluation(stack, pr)
    assert data["report"]["agent"]["unknown_authors"]
    assert data["conclusion"] == "success"  # a human change, as the repo asked


def test_noreply_bot_email_is_that_agent(stack: LocalStack) -> None:
    # The ID does not match the simulator's account, so GitHub links nothing: author null.
    pr = delete_db(
        stack,
        "infra-bot[bot] <99999999+infra-bot[bot]@users.noreply.github.com>",
        message="Remove orders db\n\nAgent-Run-Id: run_db_1",
    )
    assert commits_api(stack, pr)[0]["author"] is None
    data = evaluation(stack, pr)
    agent = data["report"]["agent"]
    assert agent["is_agent"] and agent["id"] == "infra-bot" and agent["run_id"] == "run_db_1"
    assert data["report"]["tier"] == 3 and data["conclusion"] == "action_required"


def test_co_authored_by_agent_is_an_agent_change(stack: LocalStack) -> None:
    message = (
        "Remove orders db\n\n"
        "Agent-Run-Id: run_db_2\n"
        "Co-authored-by: infra-bot[bot] <41898282+infra-bot[bot]@users.noreply.github.com>"
    )
    pr = stack.sim.open_pr(
        REPO, "alice", "cleanup-2", {"infra/prod/db.tf": None}, title="Clean up", message=message
    )
    data = evaluation(stack, pr)
    agent = data["report"]["agent"]
    assert agent["is_agent"] and agent["id"] == "infra-bot"
    assert any("co-author" in e for e in agent["evidence"])
    assert data["conclusion"] == "action_required"


def test_copilot_pr_operator_approval_does_not_count(stack: LocalStack) -> None:
    bob = stack.sim.world.user("bob")
    assert bob is not None
    message = (
        "Bump a\n\n"
        "Agent-Run-Id: copilot-run-7\n"
        f"Co-authored-by: bob <{bob.id}+bob@users.noreply.github.com>"
    )
    pr = stack.sim.open_pr(
        REPO,
        "Copilot",
        "copilot/bump-a",
        {"app.cfg": "a=2\n"},
        title="Bump a",
        body="Bumps a.\n\n<!-- START COPILOT CODING AGENT SUFFIX -->",
        message=message,
        commit_author="copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>",
    )
    first = evaluation(stack, pr)
    agent = first["report"]["agent"]
    assert agent["id"] == "copilot" and agent["operator"] == "bob"
    assert agent["run_id"] == "copilot-run-7"
    stack.sim.review(pr, "bob", "APPROVED")
    after_bob = evaluation(stack, pr, 2)
    assert after_bob["conclusion"] == "action_required"
    assert "bob" in str(after_bob["report"]["approvals"]["ignored"])
    stack.sim.review(pr, "alice", "APPROVED")
    assert evaluation(stack, pr, 3)["conclusion"] == "success"


def test_machine_user_agent_with_a_session_link(stack: LocalStack) -> None:
    """An agent pushing as a normal `User` account: its login, branch and task link say so."""
    user = stack.sim.world.user("acme-codex")
    assert user is not None and user.type == "User"
    pr = stack.sim.open_pr(
        REPO,
        "acme-codex",
        "codex/bump-a",
        {"app.cfg": "a=3\n"},
        title="Bump a",
        body="Bump a to 3.\n\nTask: https://chatgpt.com/codex/tasks/task_e_0a1b2c3d4e",
    )
    agent = evaluation(stack, pr)["report"]["agent"]
    assert agent["is_agent"] and agent["id"] == "codex-ci"
    assert agent["run_id"] == "task_e_0a1b2c3d4e"
    assert agent["run_url"] == "https://chatgpt.com/codex/tasks/task_e_0a1b2c3d4e"
