"""Missed webhooks: failed deliveries are redelivered, and open PRs whose head was never evaluated
are swept into the inbox. Also: PostgreSQL restarting under the running service.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from app.demo.stack import LocalStack
from app.service.reconcile import reconcile, redeliver_failed, sweep_open_prs
from app.sim.scenario import apply_setup
from app.sim.state import PullRequest
from app.store.audit.store import events_for_pr
from tests.stacks import fresh, local_stack, session_key_pair

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
    with local_stack(module_db_url) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def open_pr(stack: LocalStack, branch: str = "agent/docs") -> PullRequest:
    return stack.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        branch,
        {"README.md": f"# platform\n{branch}\n"},
        title="Docs",
        body="x\n\nAgent-Run-Id: run_r",
    )


def green(stack: LocalStack, pr: PullRequest) -> None:
    stack.sim.wait_for(
        lambda: (stack.sim.latest_check(pr) or pr).__dict__.get("conclusion") == "success",
        30,
        "green",
    )


def test_dropped_delivery_is_redelivered_once(stack: LocalStack) -> None:
    assert stack.runtime is not None
    stack.sim.drop_next_deliveries(1)
    pr = open_pr(stack)
    stack.wait_processed()
    assert stack.sim.latest_check(pr) is None  # nothing reached the App
    asked = redeliver_failed(stack.runtime)
    assert len(asked) == 1
    green(stack, pr)
    stack.wait_processed()
    assert redeliver_failed(stack.runtime) == []  # the GUID succeeded: nothing more to ask
    assert len(events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("evaluation",))) == 1


def test_sweep_evaluates_open_prs_without_an_evaluation(stack: LocalStack) -> None:
    assert stack.runtime is not None
    stack.sim.drop_next_deliveries(2)
    first, second = open_pr(stack, "agent/a"), open_pr(stack, "agent/b")
    stack.wait_processed()
    queued = sweep_open_prs(stack.runtime)
    assert sorted(queued) == [f"{REPO}#{first.number}", f"{REPO}#{second.number}"]
    green(stack, first)
    green(stack, second)
    assert sweep_open_prs(stack.runtime) == []
    # Both nets together do not double-process: the redelivered GUIDs find nothing new to do.
    reconcile(stack.runtime)
    stack.wait_processed()  # the redelivered GUIDs were handled, so the count below means something
    for pr in (first, second):
        evaluations = events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("evaluation",))
        assert len({e.head_sha for e in evaluations}) == 1


def pg(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        check=True,
        timeout=60,
    )
    if action in ("start", "restart"):
        subprocess.run(["pg_isready", "-h", "127.0.0.1", "-t", "30"], check=True, timeout=40)


@pytest.mark.postgres
@pytest.mark.exclusive  # restarts the cluster other xdist workers use
def test_postgres_restart_under_load(pg_url: str) -> None:
    with LocalStack(pg_url, key_pair=session_key_pair()) as stack:
        apply_setup(stack.sim, SETUP)
        stack.sim.wait_idle()
        assert stack.runtime is not None
        pg("stop")
        try:
            pr = open_pr(stack)
            stack.sim.wait_idle()
            sent = [
                d
                for d in stack.sim.deliveries
                if d.event == "pull_request" and d.action == "opened"
            ]
            assert [d.status_code for d in sent] == [503]  # refused, not lost: GitHub keeps it
            assert httpx.get(f"{stack.url}/readyz").status_code == 503
        finally:
            pg("start")
        assert httpx.get(f"{stack.url}/readyz").status_code == 200
        assert redeliver_failed(stack.runtime)  # the worker survived; the delivery comes back
        green(stack, pr)
