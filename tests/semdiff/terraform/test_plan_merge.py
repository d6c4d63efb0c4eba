"""Plans in the pipeline: required plans wait, the plan of another head never counts, the plan
wins for its objects, and an approval does not carry over to a different plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.models import FileDiff
from app.core.snapshot import PullRequestSnapshot
from app.gate.pipeline import Gatekeeper, evaluate_snapshot
from app.gate.render.markdown import check_title, conclusion_for
from app.semdiff.terraform.plan.merge import read_plan

ROOT = Path(__file__).resolve().parents[3]
GATE = Gatekeeper.load(ROOT / "risk_rules", ROOT / "policies")
PLAN = (ROOT / "tests" / "fixtures" / "terraform_plan" / "db_replace.json").read_bytes()
AGENT_BODY = "Move orders to PostgreSQL\n\nAgent-Run-Id: run_plan_7"
TF_BASE = b'module "db" {\n  source = "terraform-aws-modules/rds/aws"\n  engine = "mysql"\n}\n'
TF_HEAD = TF_BASE.replace(b'"mysql"', b'"postgres"')


def snapshot(config: str | None, *plans: tuple[str, bytes]) -> PullRequestSnapshot:
    return PullRequestSnapshot(
        repo="acme/platform",
        number=7,
        author="infra-bot[bot]",
        author_is_bot=True,
        body=AGENT_BODY,
        head_sha="a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0",
        files=(FileDiff(path="infra/prod/main.tf", base=TF_BASE, head=TF_HEAD),),
        config_text=config.encode() if config else None,
        plans=tuple(read_plan(data, d, "plan.json") for d, data in plans),
    )


REQUIRED = "terraform: {plans: required, dirs: ['infra/*']}\n"


def test_a_required_plan_that_has_not_arrived_waits() -> None:
    report = evaluate_snapshot(snapshot(REQUIRED), GATE).report
    assert report.plans is not None and report.plans.missing == ("infra/prod",)
    assert conclusion_for(report) == "action_required"
    assert check_title(report, "action_required") == (
        "Waiting for the plan of infra/prod at a1b2c3d"
    )


def test_the_plan_arrives_and_is_judged() -> None:
    report = evaluate_snapshot(snapshot(REQUIRED, ("infra/prod", PLAN)), GATE).report
    assert report.plans is not None and report.plans.missing == ()
    assert set(report.plans.received) == {"infra/prod"}
    assert report.tier == 3
    assert any(f.rule == "terraform.replace-stateful" for f in report.findings)


def test_a_plan_for_another_directory_does_not_satisfy_the_requirement() -> None:
    report = evaluate_snapshot(snapshot(REQUIRED, ("infra/staging", PLAN)), GATE).report
    assert report.plans is not None and report.plans.missing == ("infra/prod",)
    assert conclusion_for(report) == "action_required"


@pytest.mark.parametrize(
    "config", ["terraform: {plans: required, dirs: ['apps/*']}\n", "terraform: {plans: optional}\n"]
)
def test_directories_not_listed_or_optional_plans_do_not_wait(config: str) -> None:
    report = evaluate_snapshot(snapshot(config), GATE).report
    assert report.plans is None or report.plans.missing == ()


def test_plans_off_ignores_a_posted_plan() -> None:
    report = evaluate_snapshot(snapshot("terraform: {plans: off}\n", ("infra/prod", PLAN)), GATE)
    assert report.report.plans is None
    assert all(c.facts.get("source") != "plan" for c in report.report.changes)


def test_a_different_plan_for_the_same_source_changes_the_approval_scope() -> None:
    other = json.loads(PLAN)
    other["resource_changes"][0]["change"]["replace_paths"] = [["engine"], ["engine_version"]]
    one = evaluate_snapshot(snapshot(REQUIRED, ("infra/prod", PLAN)), GATE).report
    two = evaluate_snapshot(
        snapshot(REQUIRED, ("infra/prod", json.dumps(other).encode())), GATE
    ).report
    digests = {c.facts.get("plan_sha256") for c in one.changes} - {None}
    assert len(digests) == 1
    assert digests != {c.facts.get("plan_sha256") for c in two.changes} - {None}


def test_an_unreadable_plan_entry_fails_closed() -> None:
    broken = json.dumps({"format_version": "1.2", "resource_changes": [{"address": "x.y"}]})
    report = evaluate_snapshot(snapshot(REQUIRED, ("infra/prod", broken.encode())), GATE).report
    assert any(f.rule == "analysis.unparseable" for f in report.findings)
    assert report.tier != 0


def test_a_plan_never_hides_a_destroy_the_source_shows() -> None:
    """Source deletes the database block; a (wrong or stale) plan says it is only updated."""
    base = b'resource "aws_db_instance" "orders" {\n  engine = "mysql"\n}\n'
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "aws_db_instance.orders",
                "mode": "managed",
                "type": "aws_db_instance",
                "name": "orders",
                "change": {
                    "actions": ["update"],
                    "before": {"engine": "mysql"},
                    "after": {"engine": "mysql", "tags": {"x": "y"}},
                },
            }
        ],
    }
    snap = PullRequestSnapshot(
        repo="acme/platform",
        author="infra-bot[bot]",
        author_is_bot=True,
        body=AGENT_BODY,
        head_sha="b" * 40,
        files=(FileDiff(path="infra/prod/db.tf", status="removed", base=base),),
        plans=(read_plan(json.dumps(plan).encode(), "infra/prod", "plan.json"),),
    )
    report = evaluate_snapshot(snap, GATE).report
    ops = {(c.file, c.op) for c in report.changes if c.address == "aws_db_instance.orders"}
    assert ops == {("infra/prod/db.tf", "delete"), ("infra/prod/plan.json", "update")}
    assert report.tier == 3  # the stateful delete still decides
