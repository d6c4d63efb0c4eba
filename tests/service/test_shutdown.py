"""SIGTERM to a worker process mid-delivery: it finishes the delivery within its grace period,
or gives the lease back at once when it cannot; either way nothing is lost or done twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from app.demo.stack import LocalStack
from app.sim.faults import Fault
from app.sim.scenario import apply_setup
from app.sim.state import PullRequest
from app.store import inbox
from app.store.audit.store import events_for_pr
from tests.stacks import local_stack

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


@pytest.fixture
def stack(db_url: str) -> Iterator[LocalStack]:
    with local_stack(db_url, role="web") as s:  # web only: the worker is a separate process
        apply_setup(s.sim, SETUP)
        s.sim.wait_idle()
        yield s


def start_worker(stack: LocalStack, grace: float) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "COUNTERSIGN_APP_ID": "4242",
        "COUNTERSIGN_PRIVATE_KEY": stack.private_key,
        "COUNTERSIGN_WEBHOOK_SECRET": stack.webhook_secret,
        "COUNTERSIGN_DATABASE_URL": stack.database_url,
        "COUNTERSIGN_GITHUB_API_URL": stack.sim_server.api_url,
        "COUNTERSIGN_LEASE_SECONDS": "600",  # an expired lease must not be what saves the day
        "COUNTERSIGN_SHUTDOWN_GRACE_SECONDS": str(grace),
        "COUNTERSIGN_RECONCILE_INTERVAL_SECONDS": "0",
        "COUNTERSIGN_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", "serve", "--role", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def opened(stack: LocalStack) -> inbox.Delivery:
    assert stack.runtime is not None
    with Session(stack.runtime.engine) as session:
        rows = session.exec(
            select(inbox.Delivery).where(
                inbox.Delivery.event == "pull_request", inbox.Delivery.action == "opened"
            )
        ).all()
    assert len(rows) == 1
    return rows[0]


def open_pr_mid_delivery(stack: LocalStack) -> PullRequest:
    """Open an agent PR and wait until the worker is inside its evaluation (check in progress)."""
    stack.sim.faults.inject("POST", "/graphql", Fault.delay(6.0), times=1)
    pr = stack.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        "agent/docs",
        {"README.md": "# platform\nmore\n"},
        title="Docs",
        body="x\n\nAgent-Run-Id: run_sigterm",
    )
    stack.sim.wait_for(lambda: stack.sim.latest_check(pr) is not None, 60, "the in-progress check")
    assert stack.sim.latest_check(pr).status == "in_progress"  # type: ignore[union-attr]
    return pr


def assert_done_once(stack: LocalStack, pr: PullRequest, attempts: int) -> None:
    stack.sim.wait_for(lambda: opened(stack).status == "done", 60, "the delivery to be done")
    assert opened(stack).attempts == attempts
    assert len(stack.sim.check_runs_for(REPO, pr.head_sha)) == 1
    assert stack.sim.latest_check(pr).conclusion == "success"  # type: ignore[union-attr]
    assert stack.runtime is not None
    evaluations = events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("evaluation",))
    assert len(evaluations) == 1


def stop(worker: subprocess.Popen[bytes]) -> int:
    worker.send_signal(signal.SIGTERM)
    try:
        return worker.wait(60)
    finally:
        if worker.poll() is None:
            worker.kill()


def test_sigterm_lets_the_in_flight_delivery_finish(stack: LocalStack) -> None:
    worker = start_worker(stack, grace=60)
    try:
        pr = open_pr_mid_delivery(stack)
    finally:
        code = stop(worker)
    assert code == 0
    # The process exited only after it completed the delivery: done, by this one worker.
    assert opened(stack).status == "done"
    assert_done_once(stack, pr, attempts=1)


def test_sigterm_past_the_grace_gives_the_lease_back_at_once(stack: LocalStack) -> None:
    worker = start_worker(stack, grace=0)
    try:
        pr = open_pr_mid_delivery(stack)
    finally:
        code = stop(worker)
    assert code == 0
    given_back = opened(stack)
    assert (given_back.status, given_back.lease_owner, given_back.attempts) == ("pending", None, 1)
    successor = start_worker(stack, grace=60)
    try:
        assert_done_once(stack, pr, attempts=2)
    finally:
        stop(successor)
