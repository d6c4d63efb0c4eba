"""The base a stored plan was made against, recorded once for plans whose poster named none.

A plan posted without `?base=SHA` is taken as planned against the base branch's tip when it was
first read (right after its upload, by the re-evaluation the upload queues), and says so
(`base_assumed`). Recorded in the row's provenance JSON, once: a later read never moves it.
"""

from __future__ import annotations

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from app.core.snapshot import PlanProvenance
from app.store.db import write_options
from app.store.tables import PLANS


def record_assumed_base(engine: Engine, repo: str, head_sha: str, base_sha: str) -> int:
    """Give every plan of this head that has no base `base_sha` (assumed); returns how many."""
    changed = 0
    # Read then write: on SQLite a deferred transaction whose snapshot another writer moved on
    # cannot take the write lock (SQLITE_BUSY at once, no busy wait), so take it up front.
    with engine.connect().execution_options(**write_options(engine)) as conn, conn.begin():
        rows = conn.execute(
            sa.select(PLANS.c.id, PLANS.c.provenance).where(
                PLANS.c.repo == repo, PLANS.c.head_sha == head_sha
            )
        ).all()
        for row_id, stored in rows:
            try:
                provenance = PlanProvenance.model_validate_json(stored or "{}")
            except ValidationError:
                continue  # unreadable or pre-provenance rows: they count as OIDC without claims
            if provenance.base_sha or provenance.stage != "pr":
                continue
            update = provenance.model_copy(update={"base_sha": base_sha, "base_assumed": True})
            conn.execute(
                PLANS.update()
                .where(PLANS.c.id == row_id)
                .values(provenance=update.model_dump_json(exclude_defaults=True))
            )
            changed += 1
    return changed


def has_pr_plans(engine: Engine, repo: str, head_sha: str | None = None) -> bool:
    """Whether any plan was posted for this head (a moved base re-evaluates only those PRs), or
    for any head of the repository (`head_sha` None: a push asks GitHub nothing otherwise)."""
    where = [PLANS.c.repo == repo]
    if head_sha is not None:
        where.append(PLANS.c.head_sha == head_sha)
    with engine.connect() as conn:
        found = conn.execute(sa.select(PLANS.c.id).where(*where).limit(1)).first()
    return found is not None
