"""GitHub faults: the worker backs off (honouring Retry-After / rate-limit resets), never marks a
delivery done while its outputs failed, never turns a check green by error, and completes every
delivery once the fault clears.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from app.demo.stack import LocalStack
from app.sim.faults import Fault
from app.sim.state import PullRequest
from app.store import inbox
from app.store.audit.store import events_for_pr
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e
REPO = "acme/platform"
SETUP = {
    "org": "acme",
    "users": ["alice", {"login": "docs-bot[bot]", "type": "Bot"}],
    "teams": {"platform": ["alice"]},
    "repos": {
        REPO: {"files": {"README.md": "# platform\n", ".github/CODEOWNERS": "* @acme/platform\n"}}
    },
    "install": True,
}


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    # Short retries and client timeouts keep the tests fast; production defaults are 2 s / 15 s.
    with local_stack(module_db_url, retry_base_seconds=0.05, github_timeout_seconds=1.0) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def open_docs_pr(stack: LocalStack) -> PullRequest:
    return stack.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        "agent/docs",
        {"README.md": "# platform\nmore\n"},
        title="Docs",
        body="x\n\nAgent-Run-Id: run_f",
    )


def pr_deliveries(stack: LocalStack) -> list[inbox.Delivery]:
    assert stack.runtime is not None
    from sqlmodel import Session, select

    with Session(stack.runtime.engine) as session:
        rows = session.exec(
            select(inbox.Delivery).where(inbox.Delivery.event == "pull_request")
        ).all()
    return [r for r in rows if r.action == "opened"]


def wait_done(stack: LocalStack, timeout: float = 30) -> inbox.Delivery:
    stack.sim.wait_for(
        lambda: any(d.status == "done" for d in pr_deliveries(stack)),
        timeout,
        "the delivery to complete",
    )
    return next(d for d in pr_deliveries(stack) if d.status == "done")


def never_green_while(stack: LocalStack, pr: PullRequest, seconds: float) -> None:
    """Poll the check while the fault is active: in progress or absent, never success."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = stack.sim.latest_check(pr)
        assert run is None or run.conclusion != "success", "a check turned green during a fault"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("path", "fault", "times"),
    [
        ("/repos/*/*/pulls/*", Fault.error(502, "Bad Gateway"), 3),
        ("/graphql", Fault.error(500), 2),
        ("/repos/*/*/pulls/*/files", Fault.reset(), 2),
        ("/repos/*/*/pulls/*/commits", Fault.delay(3.0), 1),
        ("/repos/*/*/check-runs/*", Fault.error(503), 2),
    ],
    ids=["pull-502", "graphql-500", "files-reset", "commits-timeout", "check-update-503"],
)
def test_transient_faults_retry_until_done(
    stack: LocalStack, path: str, fault: Fault, times: int
) -> None:
    method = "PATCH" if "check-runs" in path else ("POST" if path == "/graphql" else "GET")
    stack.sim.faults.inject(method, path, fault, times=times)
    pr = open_docs_pr(stack)
    never_green_while(stack, pr, 0.5)
    done = wait_done(stack)
    assert done.attempts >= 2  # it failed first, and was retried
    run = stack.sim.latest_check(pr)
    assert run is not None and run.conclusion == "success"
    # Exactly one check run for the head, however many attempts it took.
    assert len(stack.sim.check_runs_for(REPO, pr.head_sha)) == 1


def test_secondary_rate_limit_honours_retry_after(stack: LocalStack) -> None:
    stack.sim.faults.inject(
        "GET", "/repos/*/*/pulls/*", Fault.secondary_rate_limit(retry_after=2), times=1
    )
    started = datetime.now(UTC)
    open_docs_pr(stack)
    stack.sim.wait_for(
        lambda: any(
            d.attempts >= 1 and d.status == "pending" and d.last_error for d in pr_deliveries(stack)
        ),
        10,
        "the first failure",
    )
    waiting = next(d for d in pr_deliveries(stack) if d.status == "pending")
    assert (waiting.next_attempt_at - started).total_seconds() >= 1.9
    assert "403" in (waiting.last_error or "")
    done = wait_done(stack)
    assert (done.completed_at - started).total_seconds() >= 1.9  # type: ignore[operator]


def test_primary_rate_limit_waits_for_the_reset(stack: LocalStack) -> None:
    stack.sim.faults.inject(
        "GET", "/repos/*/*/pulls/*/files", Fault.primary_rate_limit(status=429, reset_in=2), times=1
    )
    started = datetime.now(UTC)
    open_docs_pr(stack)
    done = wait_done(stack)
    assert (done.completed_at - started).total_seconds() >= 1.5  # type: ignore[operator]


def test_permanent_failure_ends_in_a_failing_check_never_green(stack: LocalStack) -> None:
    """GitHub keeps failing the contents query: after the last retry the check fails with why."""
    stack.sim.faults.inject("POST", "/graphql", Fault.error(500), times=None)
    pr = open_docs_pr(stack)
    stack.sim.wait_for(
        lambda: any(d.status == "failed" for d in pr_deliveries(stack)), 60, "the last retry"
    )
    stack.sim.wait_for(
        lambda: (stack.sim.latest_check(pr) or pr).__dict__.get("conclusion") == "failure",
        10,
        "the failing check",
    )
    run = stack.sim.latest_check(pr)
    assert run is not None and "could not evaluate" in (run.title or "")
    assert stack.runtime is not None
    assert not events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("evaluation",))
    # The fault clears and someone presses Re-evaluate: the check recovers.
    stack.sim.faults.clear()
    stack.sim.requested_action(run.id, "reevaluate", by="alice")
    stack.sim.wait_for(
        lambda: (stack.sim.latest_check(pr) or run).conclusion == "success", 30, "recovery"
    )
