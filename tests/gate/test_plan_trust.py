"""Which posted plans count (issue #18): the base branch names the workflows, the run must be at
the base branch or this PR's merge ref, for a PR event; several plans of one directory are
judged together, so a second plan never lowers the tier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.config.repo import parse_repo_config
from app.core.errors import ConfigError
from app.core.models import FileDiff
from app.core.snapshot import PlanProvenance, PullRequestSnapshot, TerraformPlan
from app.gate.pipeline import Gatekeeper, evaluate_snapshot
from app.gate.plan_trust import judge_plans, split_workflow_ref
from app.gate.render.markdown import render_markdown
from app.semdiff.terraform.plan.merge import plan_from

ROOT = Path(__file__).resolve().parents[2]
GATE = Gatekeeper.load(ROOT / "risk_rules", ROOT / "policies")
REPLACE = json.loads((ROOT / "tests/fixtures/terraform_plan/db_replace.json").read_bytes())
CONFIG = (
    "terraform:\n  plans: required\n  dirs: ['infra/*']\n"
    "  plan_workflows: ['.github/workflows/plan.yml']\n"
)
TF_BASE = b'module "db" {\n  source = "terraform-aws-modules/rds/aws"\n  engine = "mysql"\n}\n'
WF = "acme/platform/.github/workflows/plan.yml"


def oidc(
    ref: str = f"{WF}@refs/pull/7/merge", event: str = "pull_request", **kw: Any
) -> PlanProvenance:
    return PlanProvenance(
        via="oidc", event_name=event, workflow_ref=ref, job_workflow_ref=ref, **kw
    )


def in_place(plan: dict[str, Any]) -> dict[str, Any]:
    """The same plan with every replace turned into an in-place update."""
    out: dict[str, Any] = json.loads(json.dumps(plan))
    for rc in out["resource_changes"]:
        if rc["change"]["actions"] in (["delete", "create"], ["create", "delete"]):
            rc["change"]["actions"] = ["update"]
            rc["change"].pop("replace_paths", None)
            rc.pop("action_reason", None)
    return out


def snap(
    *plans: tuple[dict[str, Any], PlanProvenance | None],
    config: str = CONFIG,
    files: tuple[FileDiff, ...] = (),
) -> PullRequestSnapshot:
    changed = (
        FileDiff(
            path="infra/prod/main.tf", base=TF_BASE, head=TF_BASE.replace(b"mysql", b"postgres")
        ),
    )
    return PullRequestSnapshot(
        repo="acme/platform",
        number=7,
        base_ref="main",
        author="infra-bot[bot]",
        author_is_bot=True,
        body="Swap\n\nAgent-Run-Id: run_7",
        head_sha="a" * 40,
        files=changed + files,
        config_text=config.encode(),
        plans=tuple(
            plan_from(p, "infra/prod").model_copy(update={"provenance": who}) for p, who in plans
        ),
    )


@pytest.mark.parametrize(
    ("who", "why"),
    [
        (oidc(), None),
        (oidc(f"{WF}@refs/heads/main", event="pull_request_target"), None),
        (
            oidc(f"{WF}@refs/heads/gh-readonly-queue/main/pr-7-{'b' * 40}", event="merge_group"),
            None,
        ),
        (PlanProvenance(via="upload-token"), None),
        (None, None),
        (oidc(event="push"), "event 'push'"),
        (oidc(event="workflow_dispatch"), "event 'workflow_dispatch'"),
        (
            oidc("acme/platform/.github/workflows/evil.yml@refs/pull/7/merge"),
            "evil.yml of acme/platform is not named",
        ),
        (oidc(f"{WF}@refs/pull/8/merge"), "ran at refs/pull/8/merge"),
        (oidc(f"{WF}@refs/heads/agent/x"), "ran at refs/heads/agent/x"),
        (
            oidc("acme/other/.github/workflows/plan.yml@refs/heads/main"),
            "of acme/other is not named",
        ),
        (oidc(""), "names no workflow"),
        (PlanProvenance(via="oidc"), "event ''"),  # a row stored before claims were kept
    ],
)
def test_which_plans_count(who: PlanProvenance | None, why: str | None) -> None:
    judged = judge_plans(snap((REPLACE, who)), parse_repo_config(CONFIG))
    if why is None:
        assert len(judged.trusted) == 1 and judged.ignored == ()
    else:
        assert judged.trusted == () and len(judged.ignored) == 1
        assert why in judged.ignored[0]


def test_a_reusable_job_counts_when_its_caller_is_named() -> None:
    who = PlanProvenance(
        via="oidc",
        event_name="pull_request",
        workflow_ref=f"{WF}@refs/pull/7/merge",
        job_workflow_ref="acme/shared/.github/workflows/tf.yml@refs/tags/v1",
    )
    assert len(judge_plans(snap((REPLACE, who)), parse_repo_config(CONFIG)).trusted) == 1


def test_a_pr_that_edits_the_named_workflow_counts_only_base_branch_runs() -> None:
    edit = (FileDiff(path=".github/workflows/plan.yml", base=b"on: pull_request\n", head=b"x\n"),)
    config = parse_repo_config(CONFIG)
    merge_run = judge_plans(snap((REPLACE, oidc()), files=edit), config)
    assert (
        merge_run.trusted == ()
        and "this PR edits .github/workflows/plan.yml" in merge_run.ignored[0]
    )
    base_run = oidc(f"{WF}@refs/heads/main", event="pull_request_target")
    assert len(judge_plans(snap((REPLACE, base_run), files=edit), config).trusted) == 1


def test_no_workflow_named_means_no_oidc_plan_counts() -> None:
    config = "terraform: {plans: required, dirs: ['infra/*']}\n"
    report = evaluate_snapshot(snap((REPLACE, oidc()), config=config), GATE).report
    assert report.plans is not None and report.plans.missing == ("infra/prod",)
    assert "name it in terraform.plan_workflows" in report.plans.ignored[0]
    assert "terraform.plan\\_workflows" in render_markdown(report)


@pytest.mark.parametrize("order", ["replace first", "update first"])
def test_a_second_plan_never_lowers_the_tier(order: str) -> None:
    plans = [(REPLACE, oidc()), (in_place(REPLACE), oidc())]
    if order == "update first":
        plans.reverse()
    report = evaluate_snapshot(snap(*plans), GATE).report
    assert report.tier == 3
    assert any(f.rule == "terraform.replace-stateful" for f in report.findings)
    assert report.plans is not None and len(report.plans.several["infra/prod"]) == 2
    assert "judged together" in render_markdown(report)


def test_a_repeated_plan_adds_nothing() -> None:
    once = evaluate_snapshot(snap((REPLACE, oidc())), GATE).report
    twice = evaluate_snapshot(snap((REPLACE, oidc()), (REPLACE, oidc(run_id="2"))), GATE).report
    assert twice.changes == once.changes and twice.findings == once.findings
    assert twice.plans is not None and twice.plans.several == {}


def test_an_ignored_plan_leaves_the_source_judgement() -> None:
    forged = oidc("acme/platform/.github/workflows/evil.yml@refs/pull/7/merge")
    alone = evaluate_snapshot(snap(config=CONFIG), GATE).report
    report = evaluate_snapshot(snap((in_place(REPLACE), forged)), GATE).report
    assert report.changes == alone.changes and report.tier == alone.tier


@pytest.mark.parametrize(
    ("entry", "line"),
    [("plan.yml", 3), ("../../other/.github/workflows/plan.yml", 3), (".github/workflows/x.sh", 3)],
)
def test_plan_workflows_must_be_workflow_files_named_with_their_line(entry: str, line: int) -> None:
    text = f"terraform:\n  plan_workflows:\n    - {entry}\n"
    with pytest.raises(ConfigError) as caught:
        parse_repo_config(text)
    assert caught.value.line == line and "terraform.plan_workflows" in str(caught.value)


def test_workflow_refs_split() -> None:
    assert split_workflow_ref(f"{WF}@refs/heads/main") == (
        "acme/platform",
        ".github/workflows/plan.yml",
        "refs/heads/main",
    )
    assert split_workflow_ref("acme/platform@refs/heads/main") is None
    assert split_workflow_ref(WF) is None


def test_typed_claims_survive_the_store_round_trip() -> None:
    who = oidc(run_id="42", ref="refs/pull/7/merge")
    assert (
        TerraformPlan.model_validate_json(
            plan_from(REPLACE, "d").model_copy(update={"provenance": who}).model_dump_json()
        ).provenance
        == who
    )


def test_the_check_names_ten_ignored_plans_and_counts_the_rest() -> None:
    forged = [
        (in_place(REPLACE), oidc(f"acme/platform/.github/workflows/e{i}.yml@refs/pull/7/merge"))
        for i in range(12)
    ]
    text = render_markdown(evaluate_snapshot(snap(*forged), GATE).report)
    assert text.count("- ignored: infra/prod") == 10 and "2 more ignored plans" in text
