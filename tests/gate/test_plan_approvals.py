"""Approvals given at the head against a plan that a base move made stale (issue #20): kept when
the new plan is the same in the approver's scope, voided (with the difference) when it is not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.core.models import FileDiff
from app.core.snapshot import BaseMove, PlanProvenance, PullRequestSnapshot, Review
from app.gate.pipeline import Gatekeeper, evaluate_snapshot
from app.semdiff.terraform.plan.merge import plan_from

ROOT = Path(__file__).resolve().parents[2]
GATE = Gatekeeper.load(ROOT / "risk_rules", ROOT / "policies")
REPLACE = json.loads((ROOT / "tests/fixtures/terraform_plan/db_replace.json").read_bytes())
TF = b'module "db" {\n  source = "terraform-aws-modules/rds/aws"\n  engine = "mysql"\n}\n'
OLD, NEW, HEAD = "1" * 40, "2" * 40, "a" * 40
T0 = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
CONFIG = b"terraform:\n  plans: required\n  dirs: ['infra/*']\n"


def snapshot(new_plan: dict[str, Any], approved_at: datetime) -> PullRequestSnapshot:
    """Plan 1 (base OLD) is stale: the base moved in infra/prod; plan 2 (base NEW) arrived at
    T0 + 1h. Two humans approved the head at `approved_at`."""
    old = plan_from(REPLACE, "infra/prod").model_copy(
        update={"provenance": PlanProvenance(via="upload-token", base_sha=OLD), "received_at": T0}
    )
    new = plan_from(new_plan, "infra/prod").model_copy(
        update={
            "provenance": PlanProvenance(via="upload-token", base_sha=NEW),
            "received_at": T0 + timedelta(hours=1),
        }
    )
    return PullRequestSnapshot(
        repo="acme/platform",
        number=7,
        author="dev",
        head_sha=HEAD,
        files=(FileDiff(path="infra/prod/main.tf", base=TF, head=TF.replace(b"mysql", b"pg")),),
        config_text=CONFIG,
        plans=(old, new),
        base_moves=(
            BaseMove(from_sha=OLD, to_sha=NEW, files=("infra/prod/vars.tf",)),
            BaseMove(from_sha=NEW, to_sha=NEW),
        ),
        reviews=tuple(
            Review(login=who, state="APPROVED", commit_id=HEAD, submitted_at=approved_at)
            for who in ("alice", "bob")
        ),
    )


def rerun(plan: dict[str, Any]) -> dict[str, Any]:
    return {**plan, "timestamp": "2026-12-07T21:00:00Z"}  # another digest, the same changes


def grown(plan: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(plan))
    change = out["resource_changes"][0]["change"]
    change["after"] = {**(change.get("after") or {}), "allocated_storage": 4000}
    return out


def test_the_same_plan_in_scope_keeps_approvals_given_against_the_stale_one() -> None:
    report = evaluate_snapshot(snapshot(rerun(REPLACE), T0 + timedelta(minutes=5)), GATE).report
    assert [a.login for a in report.approvals.approvals] == ["alice", "bob"]
    assert report.approvals.voided == ()


def test_a_plan_that_differs_in_scope_voids_them_with_the_difference() -> None:
    report = evaluate_snapshot(snapshot(grown(REPLACE), T0 + timedelta(minutes=5)), GATE).report
    assert report.approvals.approvals == ()
    assert [v.login for v in report.approvals.voided] == ["alice", "bob"]
    voided = report.approvals.voided[0]
    assert "approved stale plan" in voided.reason
    assert voided.changes and voided.changes[0].file == "infra/prod/plan.json"


def test_approvals_given_after_the_new_plan_arrived_are_of_the_new_plan() -> None:
    report = evaluate_snapshot(snapshot(grown(REPLACE), T0 + timedelta(hours=2)), GATE).report
    assert [a.login for a in report.approvals.approvals] == ["alice", "bob"]
