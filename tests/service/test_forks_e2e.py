"""Fork PRs: GitHub sends their check_run / check_suite events with `pull_requests: []`, and
Re-run, Re-run all and the Re-evaluate button must still re-evaluate the PR."""

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
SETUP: dict[str, Any] = {
    "org": "acme",
    "users": ["alice", "carol"],
    "teams": {"platform": ["alice"]},
    "repos": {
        REPO: {"files": {"README.md": "# platform\n", ".github/CODEOWNERS": "* @acme/platform\n"}}
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


def count(stack: LocalStack, pr: PullRequest) -> int:
    assert stack.runtime is not None
    return len(events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("evaluation",)))


def wait_count(stack: LocalStack, pr: PullRequest, n: int) -> None:
    stack.sim.wait_for(lambda: count(stack, pr) >= n, 20, f"{n} evaluations")


@pytest.fixture
def fork_pr(stack: LocalStack) -> PullRequest:
    pr = stack.sim.open_pr(
        REPO,
        "carol",
        "patch-1",
        {"README.md": "# platform\nfix\n"},
        title="Typo",
        fork_owner="carol",
    )
    wait_count(stack, pr, 1)
    stack.sim.wait_for(
        lambda: getattr(stack.sim.latest_check(pr), "status", None) == "completed", 20, "check"
    )
    return pr


def last_payload(stack: LocalStack, event: str) -> dict[str, Any]:
    stack.sim.wait_idle()
    return next(d for d in reversed(stack.sim.deliveries) if d.event == event).payload


def test_the_simulator_shapes_fork_prs_like_github(stack: LocalStack, fork_pr: PullRequest) -> None:
    opened = next(d for d in stack.sim.deliveries if d.event == "pull_request").payload
    head = opened["pull_request"]["head"]
    assert head["repo"]["full_name"] == "carol/platform" and head["repo"]["fork"] is True
    assert opened["pull_request"]["base"]["repo"]["fork"] is False
    completed = last_payload(stack, "check_run")
    assert completed["check_run"]["pull_requests"] == []
    assert completed["check_run"]["check_suite"]["pull_requests"] == []


def test_rerun_of_a_fork_pr_check_reevaluates(stack: LocalStack, fork_pr: PullRequest) -> None:
    run = stack.sim.latest_check(fork_pr)
    assert run is not None
    stack.sim.rerequest_check(run.id, by="alice")
    assert last_payload(stack, "check_run")["check_run"]["pull_requests"] == []
    wait_count(stack, fork_pr, 2)


def test_reevaluate_button_on_a_fork_pr_reevaluates(
    stack: LocalStack, fork_pr: PullRequest
) -> None:
    run = stack.sim.latest_check(fork_pr)
    assert run is not None
    stack.sim.requested_action(run.id, "reevaluate", by="alice")
    wait_count(stack, fork_pr, 2)


def test_rerun_all_of_a_fork_pr_suite_reevaluates(stack: LocalStack, fork_pr: PullRequest) -> None:
    run = stack.sim.latest_check(fork_pr)
    assert run is not None
    stack.sim.rerequest_check_suite(run.id, by="alice")
    assert last_payload(stack, "check_suite")["check_suite"]["pull_requests"] == []
    wait_count(stack, fork_pr, 2)
