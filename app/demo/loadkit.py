"""What the load test (`tests/service/test_load.py`) and the soak (`scripts/soak.py`) share: the
organization they play in, the mix of GitHub faults they inject, and a throwaway PostgreSQL schema.

Equipment, like the rest of `app.demo`: never imported by the service.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.sim import webhooks
from app.sim.faults import Fault, Faults
from app.sim.simulator import Simulator
from app.sim.state import PullRequest
from app.store.db import make_engine

LOAD_REPO = "acme/platform"
LOAD_SETUP: dict[str, Any] = {
    "org": "acme",
    "users": ["alice", {"login": "docs-bot[bot]", "type": "Bot"}],
    "teams": {"platform": ["alice"]},
    "repos": {
        LOAD_REPO: {
            "files": {"README.md": "# platform\n", ".github/CODEOWNERS": "* @acme/platform\n"}
        }
    },
    "install": True,
}
"""One team, one repository with CODEOWNERS, and a docs bot whose PRs carry run IDs."""


def open_load_prs(sim: Simulator, count: int, tag: str) -> list[PullRequest]:
    """`count` docs-bot PRs, each with its run ID, answered before returning."""
    prs = [
        sim.open_pr(
            LOAD_REPO,
            "docs-bot[bot]",
            f"agent/{tag}{i}",
            {f"docs/{tag}{i}.md": f"# {i}\n"},
            title=f"{tag.upper()}{i}",
            body=f"x\n\nAgent-Run-Id: run_{tag}_{i}",
        )
        for i in range(count)
    ]
    sim.wait_idle(timeout=120)
    return prs


def reevaluations(
    sim: Simulator, prs: list[PullRequest], count: int, rnd: random.Random
) -> list[webhooks.Outgoing]:
    """`count` `pull_request.synchronize` deliveries of random PRs (each its own GUID), naming the
    push as GitHub always does (before/after)."""
    return [
        webhooks.pull_request_event(
            sim.world, pr, "synchronize", "docs-bot[bot]", before=pr.base_sha, after=pr.head_sha
        )
        for pr in (rnd.choice(prs) for _ in range(count))
    ]


def inject_outage_mix(faults: Faults, deliveries: int, *, rate_limits: int = 3) -> int:
    """502s on the PR, GraphQL and check-run calls (one per 50 deliveries, at least 3 each) and
    secondary rate limits with `Retry-After` on the file list; returns how many were injected."""
    count = 0
    for path, method in (
        ("/repos/*/*/pulls/*", "GET"),
        ("/graphql", "POST"),
        ("/repos/*/*/check-runs/*", "PATCH"),
    ):
        n = max(3, deliveries // 50)
        faults.inject(method, path, Fault.error(502), times=n)
        count += n
    faults.inject(
        "GET",
        "/repos/*/*/pulls/*/files",
        Fault.secondary_rate_limit(retry_after=1),
        times=rate_limits,
    )
    return count + rate_limits


@contextmanager
def temporary_schema(base_url: str, prefix: str = "test") -> Iterator[str]:
    """A new schema in the PostgreSQL database at `base_url`, as a URL whose `search_path` points
    at it; dropped (with everything in it) afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = make_engine(base_url, poolclass=sa.NullPool)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except BaseException:
        admin.dispose()
        raise
    url = make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
