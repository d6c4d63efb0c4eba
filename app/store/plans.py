"""Terraform plans posted for PR heads: stored redacted, read back for the exact head only.

A plan is bound to the head SHA it was made for: the evaluator reads plans of the PR's current
head and no other, so a plan for an older head is never used for a newer one. Every plan posted
for a head is read back with who posted it (`PlanProvenance`): the gate decides which count
(`app.gate.plan_trust`) and judges those together, so a later plan never replaces an earlier
one. Storage keeps the redacted plan (`redact_for_storage`) compressed; the digest is of the plan
as received (its canonical JSON), before redaction.
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from app.core.snapshot import PlanProvenance, TerraformPlan
from app.semdiff import redact_for_storage
from app.store.audit import store
from app.store.tables import PLANS

MAX_PLANS_PER_HEAD = 100
"""Distinct plans read for one head; more is refused by the evaluator (fail closed)."""


def save_plan(
    engine: Engine, repo: str, head_sha: str, plan: TerraformPlan, provenance: PlanProvenance
) -> int:
    """Store a plan and record its arrival in the audit chain; returns the row id."""
    source = provenance.label
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
                provenance=provenance.model_dump_json(exclude_defaults=True),
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
            **({"event_name": provenance.event_name} if provenance.event_name else {}),
            "resource_changes": len(stored["resource_changes"]),
            "terraform_version": stored.get("terraform_version"),
        },
        repo=repo,
        head_sha=head_sha,
    )
    return int(row_id[0]) if row_id else 0


def plans_for(engine: Engine, repo: str, head_sha: str) -> tuple[TerraformPlan, ...]:
    """Every distinct plan (directory, digest, poster) of exactly this head, in arrival order,
    at most `MAX_PLANS_PER_HEAD` + 1 (the caller refuses more)."""
    first = sa.func.min(PLANS.c.id).label("first")
    distinct = (
        sa.select(first)
        .where(PLANS.c.repo == repo, PLANS.c.head_sha == head_sha)
        .group_by(PLANS.c.dir, PLANS.c.sha256, PLANS.c.source, PLANS.c.provenance)
        .subquery()
    )
    query = (
        sa.select(
            PLANS.c.dir,
            PLANS.c.sha256,
            PLANS.c.source,
            PLANS.c.provenance,
            PLANS.c.plan,
            PLANS.c.received_at,
        )
        .where(PLANS.c.id.in_(sa.select(distinct.c.first)))
        .order_by(PLANS.c.id)
        .limit(MAX_PLANS_PER_HEAD + 1)
    )
    out: list[TerraformPlan] = []
    with engine.connect() as conn:
        for directory, digest, source, provenance, blob, received in conn.execute(query):
            out.append(
                TerraformPlan(
                    dir=directory,
                    sha256=digest,
                    plan=json.loads(zlib.decompress(blob)),
                    provenance=_provenance(source, provenance),
                    received_at=received,
                )
            )
    return tuple(out)


def _provenance(source: str, stored: str | None) -> PlanProvenance:
    """The poster as recorded; a row from before provenance was kept is an OIDC plan with no
    claims (it no longer counts) unless an upload token posted it."""
    if stored:
        try:
            return PlanProvenance.model_validate_json(stored)
        except ValidationError:
            return PlanProvenance(via="oidc")  # unreadable: claims we cannot check
    if source == "upload-token":
        return PlanProvenance(via="upload-token")
    return PlanProvenance(via="oidc")
