"""One worker at a time per pull request, across processes and machines.

Two deliveries for the same PR evaluated at once would race to create its check run. On
PostgreSQL a session advisory lock keyed by the PR serialises them; it is released when the work
ends or, if the worker dies, when its connection closes. SQLite runs a single worker, so it needs
no lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import Engine


def lock_key(repo: str, pr_number: int) -> int:
    digest = hashlib.sha256(f"{repo.lower()}#{pr_number}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def pr_lock(engine: Engine, repo: str | None, pr_number: int | None) -> Iterator[bool]:
    """Yield True when this process now owns the PR (always on SQLite or without a PR)."""
    if engine.dialect.name != "postgresql" or repo is None or pr_number is None:
        yield True
        return
    key = lock_key(repo, pr_number)
    with engine.connect() as conn:
        got = bool(conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                conn.commit()
