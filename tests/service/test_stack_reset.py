"""`LocalStack.reset`: a test on a shared stack sees nothing another test left behind.

The servers keep running; the simulator, the database and the runtime's caches start again.
The second PR below has the same number, installation id and check-run ids as the first (ids
restart with the simulator), so a cached installation token or a stale row would show.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from app.demo.stack import LocalStack
from app.sim.state import PullRequest
from app.store import inbox
from app.store.audit.store import events_for_pr
from app.store.tables import DELIVERIES
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e
REPO = "acme/platform"
SETUP: dict[str, Any] = {
    "org": "acme",
    "users": ["alice"],
    "repos": {REPO: {"files": {"README.md": "# platform\n"}}},
    "install": True,
}


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    console = {"console_teams": "acme/platform", "console_session_secret": SecretStr("s" * 40)}
    with local_stack(module_db_url, **console) as s:
        yield s


def evaluated_pr(stack: LocalStack, branch: str) -> PullRequest:
    pr = stack.sim.open_pr(REPO, "alice", branch, {"README.md": f"{branch}\n"}, title=branch)
    stack.sim.wait_for(
        lambda: getattr(stack.sim.latest_check(pr), "status", None) == "completed", 30, "check"
    )
    stack.wait_processed()
    return pr


def delivery_events(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(DELIVERIES.c.event)).scalars())


def test_reset_leaves_nothing_of_the_previous_test(running: LocalStack) -> None:
    stack = fresh(running, SETUP)
    rt = stack.runtime
    assert rt is not None
    first = evaluated_pr(stack, "first")
    old_engine, old_github, old_metrics = rt.engine, rt.github, rt.metrics
    if old_engine.dialect.name == "sqlite":  # PostgreSQL empties the same schema in place
        assert "pull_request" in delivery_events(old_engine)
    assert events_for_pr(old_engine, REPO, first.number, kinds=("evaluation",))
    httpx.get(f"{stack.url}/console/login")  # the console builds its context (login limiter)
    assert getattr(stack.app.state, "console", None) is not None  # type: ignore[union-attr]

    fresh(stack, SETUP)

    assert rt.engine is not old_engine and rt.github is not old_github
    assert rt.metrics is not old_metrics and rt.analyze_guard is None
    assert getattr(stack.app.state, "console", None) is None  # type: ignore[union-attr]
    assert delivery_events(rt.engine) == ["installation"]  # only this test's set-up
    assert events_for_pr(rt.engine, REPO, first.number) == []
    assert stack.sim.world.check_runs == {} and stack.sim.deliveries[0].event == "installation"
    assert inbox.queue_depth(rt.engine) == 0
    done = {"event": "pull_request", "outcome": "done"}
    assert rt.metrics.registry.get_sample_value("countersign_deliveries_processed_total", done) in (
        None,
        0,
    )

    second = evaluated_pr(stack, "second")  # same number and installation id as `first`
    assert second.number == first.number
    run = stack.sim.latest_check(second)
    assert run is not None and run.conclusion is not None
    assert len(events_for_pr(rt.engine, REPO, second.number, kinds=("evaluation",))) == 1
    assert any("/access_tokens > 201" in r for r in stack.sim.requests)  # a new token


def test_reset_waits_for_the_workers_before_the_database_changes(running: LocalStack) -> None:
    """A delivery still being handled finishes against the old database, never the new one."""
    stack = fresh(running, SETUP)
    assert stack.runtime is not None
    stack.sim.open_pr(REPO, "alice", "busy", {"README.md": "busy\n"}, title="Busy")
    old_engine = stack.runtime.engine
    fresh(stack, SETUP)  # no wait for the evaluation: reset must wait for it
    assert delivery_events(stack.runtime.engine) == ["installation"]
    assert stack.sim.world.check_runs == {}
    if old_engine.dialect.name == "sqlite":  # PostgreSQL empties the same schema in place
        assert "pull_request" in delivery_events(old_engine)
