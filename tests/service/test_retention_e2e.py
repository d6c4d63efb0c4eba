"""The worker pool purges finished webhook bodies on its own, and the audit chain still verifies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from app.demo.stack import LocalStack
from app.store.audit.store import events_for_pr
from app.store.audit.verify import verify_chain
from app.store.retention import EVENT_KIND
from app.store.tables import DELIVERIES
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e
REPO = "acme/platform"
SETUP: dict[str, Any] = {
    "org": "acme",
    "users": ["alice", {"login": "docs-bot[bot]", "type": "Bot"}],
    "teams": {"platform": ["alice"]},
    "repos": {REPO: {"files": {"README.md": "# platform\n", ".github/CODEOWNERS": "* @alice\n"}}},
    "install": True,
}


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    # Zero retention days: a body is due for purging as soon as its delivery is finished.
    with local_stack(module_db_url, inbox_retention_days=0, retention_interval_seconds=0.2) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def bodies(engine: sa.Engine) -> dict[str, tuple[str, int]]:
    query = sa.select(DELIVERIES.c.id, DELIVERIES.c.status, sa.func.length(DELIVERIES.c.payload))
    with engine.connect() as conn:
        return {row[0]: (row[1], int(row[2])) for row in conn.execute(query)}


def test_worker_purges_finished_bodies_and_the_chain_verifies(stack: LocalStack) -> None:
    assert stack.runtime is not None
    engine = stack.runtime.engine
    pr = stack.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        "agent/docs",
        {"README.md": "# platform\nSecret sauce.\n"},
        title="Docs",
        body="Docs.\n\nAgent-Run-Id: run_ret",
    )

    def evaluated_and_purged() -> bool:
        if not events_for_pr(engine, REPO, pr.number, kinds=("evaluation",)):
            return False
        rows = bodies(engine)
        return bool(rows) and all(
            size == 0 for status, size in rows.values() if status in ("done", "ignored")
        )

    stack.sim.wait_for(evaluated_and_purged, 30, "the evaluation and the purge")
    stack.sim.wait_idle()
    rows = bodies(engine)
    assert any(status == "done" for status, _ in rows.values())
    with engine.connect() as conn:
        purges = conn.execute(
            sa.text("SELECT count(*) FROM audit_event WHERE kind = :k"), {"k": EVENT_KIND}
        ).scalar_one()
    assert purges >= 1
    result = verify_chain(engine)
    assert result.ok, result.reason
