"""Stored plans (issue #18): every arrival is kept with who posted it and read back in order;
nothing replaces an earlier plan, and the same plan from the same poster is read once."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from app.core.snapshot import PlanProvenance
from app.semdiff.terraform.plan.merge import plan_from
from app.store.plans import plans_for, save_plan
from app.store.tables import PLANS

REPLACE = json.loads(
    (
        Path(__file__).resolve().parents[2] / "tests/fixtures/terraform_plan/db_replace.json"
    ).read_bytes()
)
WHO = PlanProvenance(
    via="oidc",
    event_name="pull_request",
    workflow_ref="acme/platform/.github/workflows/plan.yml@refs/pull/7/merge",
)


def test_every_arrival_is_kept_with_its_poster(db_engine: sa.Engine) -> None:
    first = plan_from(REPLACE, "infra/prod")
    second = plan_from({**REPLACE, "resource_changes": []}, "infra/prod")
    token = PlanProvenance(via="upload-token")
    for plan, who in ((first, WHO), (second, WHO), (first, WHO), (first, token)):
        save_plan(db_engine, "acme/platform", "a" * 40, plan, who)
    read = plans_for(db_engine, "acme/platform", "a" * 40)
    assert [(p.sha256, p.provenance) for p in read] == [
        (first.sha256, WHO),
        (second.sha256, WHO),
        (first.sha256, token),
    ]
    assert plans_for(db_engine, "acme/platform", "b" * 40) == ()


def test_a_row_from_before_claims_were_kept_is_an_oidc_plan_without_claims(
    db_engine: sa.Engine,
) -> None:
    save_plan(db_engine, "acme/platform", "a" * 40, plan_from(REPLACE, "d"), WHO)
    with db_engine.begin() as conn:
        conn.execute(
            sa.update(PLANS).values(provenance=None, source="oidc:x/y/.github/workflows/p.yml@r")
        )
    (plan,) = plans_for(db_engine, "acme/platform", "a" * 40)
    assert plan.provenance == PlanProvenance(via="oidc")
