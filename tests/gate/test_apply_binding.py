"""Apply binding, pure: semantic changes compared (values after redaction), and which apply
plans count."""

from __future__ import annotations

import pytest

from app.config.repo import parse_repo_config
from app.core.models import Change, FieldChange
from app.core.snapshot import PlanProvenance
from app.gate.apply_binding import apply_plan_refusal, plan_differences

DB = "module.db.aws_db_instance.this[0]"


def change(op: str = "update", after: str = "db.r6g.xlarge", **facts: object) -> Change:
    return Change(
        file="infra/prod/plan.json",
        kind="terraform",
        address=DB,
        op=op,  # type: ignore[arg-type]
        fields=(FieldChange(path="instance_class", before="db.r6g.large", after=after),),
        facts=dict(facts),
        line=3,
    )


def test_the_same_changes_are_equal_whatever_their_facts_and_lines() -> None:
    approved = {"infra/prod": [change(plan_sha256="a")]}
    applied = {"infra/prod": [change(plan_sha256="b").model_copy(update={"line": 9})]}
    assert plan_differences(approved, applied) == []


@pytest.mark.parametrize(
    ("applied", "expected"),
    [
        (
            [change(after="db.r6g.2xlarge")],
            "infra/prod: not approved: update module.db.aws_db_instance.this[0] "
            "(instance_class db.r6g.large → db.r6g.2xlarge); approved but not in the apply plan: "
            "update module.db.aws_db_instance.this[0] (instance_class db.r6g.large → db.r6g.xlarge)",
        ),
        (
            [change(), change(op="delete").model_copy(update={"address": "aws_s3_bucket.logs"})],
            "infra/prod: not approved: delete aws_s3_bucket.logs",
        ),
    ],
)
def test_a_different_value_or_an_extra_resource_is_listed(
    applied: list[Change], expected: str
) -> None:
    differences = plan_differences({"infra/prod": [change()]}, {"infra/prod": applied})
    assert len(differences) == 1 and differences[0].startswith(expected)


def test_a_directory_applied_without_an_approved_plan_differs() -> None:
    assert plan_differences({}, {"infra/dev": [change()]}) == [
        "infra/dev: no plan was approved for this directory"
    ]


def test_which_apply_plans_count() -> None:
    config = parse_repo_config("terraform:\n  plan_workflows: [.github/workflows/apply.yml]\n")
    repo, at_main = "acme/platform", "acme/platform/.github/workflows/apply.yml@refs/heads/main"
    apply = PlanProvenance(via="oidc", event_name="push", job_workflow_ref=at_main, stage="apply")
    assert apply_plan_refusal(apply, repo, "main", config) is None
    assert (
        apply_plan_refusal(PlanProvenance(via="upload-token", stage="apply"), repo, "main", config)
        is None
    )
    assert apply_plan_refusal(apply.model_copy(update={"stage": "pr"}), repo, "main", config)
    elsewhere = apply.model_copy(update={"job_workflow_ref": at_main.replace("main", "dev")})
    assert "is not a workflow of terraform.plan_workflows" in str(
        apply_plan_refusal(elsewhere, repo, "main", config)
    )
    assert apply_plan_refusal(apply, repo, "main", parse_repo_config(None)) is not None
