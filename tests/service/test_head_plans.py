"""The evaluator's read of a head's plans: more than the limit fails the check, never a silent cut."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from app.config.settings import shipped_dir
from app.core.snapshot import PlanProvenance, PullRequestSnapshot
from app.gate.pipeline import Gatekeeper, evaluate_snapshot
from app.gate.render.markdown import gate_conclusion
from app.semdiff.terraform.plan.merge import plan_from
from app.service.head_plans import with_head_plans
from app.store.plans import MAX_PLANS_PER_HEAD, save_plan

REPLACE = json.loads(
    (
        Path(__file__).resolve().parents[2] / "tests/fixtures/terraform_plan/db_replace.json"
    ).read_bytes()
)
HEAD = "c" * 40


def test_more_plans_than_the_limit_fail_the_check(db_engine: sa.Engine) -> None:
    token = PlanProvenance(via="upload-token")
    for n in range(MAX_PLANS_PER_HEAD + 1):
        save_plan(db_engine, "acme/platform", HEAD, plan_from(REPLACE, f"infra/d{n}"), token)
    snapshot = with_head_plans(
        db_engine, "acme/platform", PullRequestSnapshot(repo="acme/platform", head_sha=HEAD)
    )
    assert len(snapshot.plans) == MAX_PLANS_PER_HEAD
    assert any(f"more than {MAX_PLANS_PER_HEAD}" in p for p in snapshot.problems)
    gate = Gatekeeper.load(shipped_dir("risk_rules"), shipped_dir("policies"))
    evaluation = evaluate_snapshot(snapshot, gate)
    assert evaluation.conclusion == "failure"
    assert gate_conclusion(evaluation.report) == "failure"


def test_plans_up_to_the_limit_are_no_problem(db_engine: sa.Engine) -> None:
    token = PlanProvenance(via="upload-token")
    save_plan(db_engine, "acme/platform", HEAD, plan_from(REPLACE, "infra/prod"), token)
    snapshot = with_head_plans(
        db_engine, "acme/platform", PullRequestSnapshot(repo="acme/platform", head_sha=HEAD)
    )
    assert len(snapshot.plans) == 1
    assert snapshot.problems == ()


def test_an_apply_plan_for_the_same_commit_never_speaks_for_a_pr_head(db_engine: sa.Engine) -> None:
    apply = PlanProvenance(via="upload-token", stage="apply")
    save_plan(db_engine, "acme/platform", HEAD, plan_from(REPLACE, "infra/prod"), apply)
    snapshot = with_head_plans(
        db_engine, "acme/platform", PullRequestSnapshot(repo="acme/platform", head_sha=HEAD)
    )
    assert snapshot.plans == ()
