"""Terraform plans posted for PR heads: stored redacted, read back for the exact head only.

A plan is bound to the head SHA it was made for: the evaluator reads plans of the PR's current
head and no other, so a plan for an older head is never used for a newer one. Storage keeps the
redacted plan (`redact_for_storage`) compressed; the digest is of the plan as received (its
canonical JSON), before redaction.
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.core.snapshot import TerraformPlan
from app.semdiff import redact_for_storage
from app.store.audit import store
from app.store.tables import PLANS


def save_plan(engine: Engine, repo: str, head_sha: str, plan: TerraformPlan, source: str) -> int:
    """Store a plan and record its arrival in the audit chain; returns the row id."""
    stored = redact_for_storage(plan.plan)
    blob = zlib.compress(json.dumps(stored, separators=(",", ":")).encode(), 6)
    with engine.begin() as conn:
        row_id = conn.execute(
            PLANS.insert().values(
                repo=repo,
                head_sha=head_sha,
                dir=plan.dir,
                sha256=plan.sha256,
                source=source[:300],
                plan=blob,
                received_at=datetime.now(UTC),
            )
        ).inserted_primary_key
    store.append(
        engine,
        "plan_received",
        {
            "dir": plan.dir,
            "sha256": plan.sha256,
            "source": source,
            "resource_changes": len(stored["resource_changes"]),
            "terraform_version": stored.get("terraform_version"),
        },
        repo=repo,
        head_sha=head_sha,
    )
    return int(row_id[0]) if row_id else 0


def plans_for(engine: Engine, repo: str, head_sha: str) -> tuple[TerraformPlan, ...]:
    """The latest plan of each module directory for exactly this head."""
    query = (
        sa.select(PLANS.c.id, PLANS.c.dir, PLANS.c.sha256, PLANS.c.plan)
        .where(PLANS.c.repo == repo, PLANS.c.head_sha == head_sha)
        .order_by(PLANS.c.id)
    )
    latest: dict[str, TerraformPlan] = {}
    with engine.connect() as conn:
        for _id, directory, digest, blob in conn.execute(query):
            plan = json.loads(zlib.decompress(blob))
            latest[directory] = TerraformPlan(dir=directory, sha256=digest, plan=plan)
    return tuple(latest[d] for d in sorted(latest))
