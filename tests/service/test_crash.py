"""Crashes: kill -9 a real worker process mid-evaluation, restart it, and the delivery completes
exactly once (one check run per head SHA, one evaluation, one merge record per merge).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from app.demo.stack import LocalStack
from app.sim import webhooks
from app.sim.faults import Fault
from app.store import inbox
from app.store.audit.store import events_for_pr
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e
REPO = "acme/platform"
SETUP = {
    "org": "acme",
    "users": ["alice", "bob", {"login": "docs-bot[bot]", "type": "Bot"}],
    "teams": {"platform": ["alice", "bob"]},
    "repos": {
        REPO: {"files": {"README.md": "# platform\n", ".github/CODEOWNERS": "* @acme/platform\n"}}
    },
    "install": True,
}


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    # Web only: the workers are separate processes here.
    with local_stack(module_db_url, role="web") as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP, processed=False)


def start_worker(stack: LocalStack) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "COUNTERSIGN_APP_ID": "4242",
        "COUNTERSIGN_PRIVATE_KEY": stack.private_key,
        "COUNTERSIGN_WEBHOOK_SECRET": stack.webhook_secret,
        "COUNTERSIGN_DATABASE_URL": stack.database_url,
        "COUNTERSIGN_GITHUB_API_URL": stack.sim_server.api_url,
        "COUNTERSIGN_LEASE_SECONDS": "2",
        "COUNTERSIGN_RETRY_BASE_SECONDS": "0.05",
        "COUNTERSIGN_RECONCILE_INTERVAL_SECONDS": "0",
        "COUNTERSIGN_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", "serve", "--role", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def deliveries(stack: LocalStack, event: str) -> list[inbox.Delivery]:
    assert stack.runtime is not None
    with Session(stack.runtime.engine) as session:
        return list(session.exec(select(inbox.Delivery).where(inbox.Delivery.event == event)).all())


def test_kill_9_mid_evaluation_then_restart_completes_exactly_once(stack: LocalStack) -> None:
    # Hold the contents query so the worker is mid-evaluation (check run created) when killed.
    stack.sim.faults.inject("POST", "/graphql", Fault.delay(6.0), times=1)
    worker = start_worker(stack)
    try:
        pr = stack.sim.open_pr(
            REPO,
            "docs-bot[bot]",
            "agent/docs",
            {"README.md": "# platform\nmore\n"},
            title="Docs",
            body="x\n\nAgent-Run-Id: run_crash",
        )
        stack.sim.wait_for(
            lambda: stack.sim.latest_check(pr) is not None, 30, "the in-progress check"
        )
        assert stack.sim.latest_check(pr).status == "in_progress"  # type: ignore[union-attr]
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        processing = [d for d in deliveries(stack, "pull_request") if d.status == "processing"]
        assert processing, "the killed worker should have left its delivery leased"
    finally:
        if worker.poll() is None:
            worker.kill()
    restarted = start_worker(stack)
    try:
        stack.sim.wait_for(
            lambda: (stack.sim.latest_check(pr) or pr).__dict__.get("conclusion") == "success",
            60,
            "the restarted worker to finish",
        )
        stack.sim.wait_for(
            lambda: (
                [d.status for d in deliveries(stack, "pull_request") if d.action == "opened"]
                == ["done"]
            ),
            30,
            "the delivery to be marked done",
        )
        opened = [d for d in deliveries(stack, "pull_request") if d.action == "opened"]
        assert opened[0].attempts == 2
        assert len(stack.sim.check_runs_for(REPO, pr.head_sha)) == 1
        assert stack.runtime is not None
        assert len(events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("evaluation",))) == 1

        # A merge whose delivery is processed twice (e.g. redelivered after a crash) is one record.
        stack.sim.review(pr, "alice", "APPROVED")
        stack.sim.wait_for(
            lambda: (
                len(events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("evaluation",)))
                >= 2
            ),
            30,
            "re-evaluation",
        )  # type: ignore[union-attr]
        stack.sim.merge(pr, by="bob", admin=True)
        stack.sim.wait_for(
            lambda: any(
                d.status == "done" and d.action == "closed"
                for d in deliveries(stack, "pull_request")
            ),
            30,
            "merge",
        )
        closed = next(
            d for d in stack.sim.deliveries if d.event == "pull_request" and d.action == "closed"
        )
        # The same merge again under a new GUID (as after a crash between the audit append and the
        # inbox update, or a second hook): the merge record must not be written twice.
        stack.sim.sender.submit(
            [
                webhooks.Outgoing(
                    "pull_request",
                    "closed",
                    closed.payload,
                    closed.installation_id,
                    closed.repository_id,
                )
            ]
        )
        stack.sim.wait_idle()
        stack.sim.wait_for(
            lambda: all(d.status in ("done", "ignored") for d in deliveries(stack, "pull_request")),
            30,
            "all processed",
        )
        closed_deliveries = [d for d in deliveries(stack, "pull_request") if d.action == "closed"]
        assert len(closed_deliveries) == 2  # two distinct deliveries were processed…
        merges = events_for_pr(
            stack.runtime.engine, REPO, pr.number, kinds=("merge", "bypass_merge")
        )  # type: ignore[union-attr]
        assert len(merges) == 1  # …but there is one merge record
    finally:
        restarted.send_signal(signal.SIGTERM)
        try:
            restarted.wait(10)
        except subprocess.TimeoutExpired:
            restarted.kill()
