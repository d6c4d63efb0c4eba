"""Readiness (`/readyz`) is separate from liveness (`/healthz`): a schema behind the code makes
the process unready (a load balancer stops sending it webhooks) but not dead (no restart loop)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from app.demo.stack import LocalStack
from app.store.db import migration_status
from tests.stacks import local_stack


@pytest.fixture
def stack(db_url: str) -> Iterator[LocalStack]:
    with local_stack(db_url, role="web") as s:
        yield s


def set_revision(stack: LocalStack, revision: str) -> None:
    assert stack.runtime is not None
    with stack.runtime.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_a_schema_behind_the_code_is_alive_but_not_ready(stack: LocalStack) -> None:
    assert stack.runtime is not None
    head = migration_status(stack.runtime.engine).head
    assert head is not None
    assert httpx.get(f"{stack.url}/readyz").json() == {"status": "ready", "migration": head}
    set_revision(stack, "0001")
    try:
        response = httpx.get(f"{stack.url}/readyz")
        assert response.status_code == 503
        assert "is at migration 0001" in response.json()["reason"]
        assert "countersign db upgrade" in response.json()["reason"]
        assert httpx.get(f"{stack.url}/healthz").status_code == 200
    finally:
        set_revision(stack, head)
    assert httpx.get(f"{stack.url}/readyz").status_code == 200
