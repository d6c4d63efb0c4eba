"""Stale plans (issue #20): a plan is for a head and a base; a base move that changes the
planned directory (or a module it sources locally) makes it stale. With `plans: required` the
check waits for a new plan naming the move; with `optional` it says so and judges the source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.core.models import FileDiff
from app.core.snapshot import BaseMove, PlanProvenance, PullRequestSnapshot
from app.gate.pipeline import Gatekeeper, evaluate_snapshot
from app.gate.plan_freshness import local_module_dirs, split_fresh
from app.gate.render.markdown import check_title, conclusion_for, render_markdown
from app.semdiff.terraform.plan.merge import plan_from

ROOT = Path(__file__).resolve().parents[2]
GATE = Gatekeeper.load(ROOT / "risk_rules", ROOT / "policies")
REPLACE = json.loads((ROOT / "tests/fixtures/terraform_plan/db_replace.json").read_bytes())
TF = b'module "db" {\n  source = "terraform-aws-modules/rds/aws"\n  engine = "mysql"\n}\n'
OLD, NEW = "1" * 40, "2" * 40


def config(mode: str) -> bytes:
    return f"terraform:\n  plans: {mode}\n  dirs: ['infra/*']\n".encode()


def snap(
    move: BaseMove | None, *, base: str = OLD, mode: str = "required", modules: tuple[str, ...] = ()
) -> PullRequestSnapshot:
    who = PlanProvenance(via="upload-token", base_sha=base, module_dirs=modules)
    return PullRequestSnapshot(
        repo="acme/platform",
        number=7,
        head_sha="a" * 40,
        files=(FileDiff(path="infra/prod/main.tf", base=TF, head=TF.replace(b"mysql", b"pg")),),
        config_text=config(mode),
        plans=(plan_from(REPLACE, "infra/prod").model_copy(update={"provenance": who}),),
        base_moves=(move,) if move is not None else (),
    )


@pytest.mark.parametrize(
    ("move", "base", "modules", "stale"),
    [
        (None, OLD, (), False),  # no move fetched (`countersign analyze`)
        (BaseMove(from_sha=OLD, to_sha=OLD), OLD, (), False),  # the base did not move
        (BaseMove(from_sha=OLD, to_sha=NEW, files=("docs/a.md",)), OLD, (), False),
        (BaseMove(from_sha=OLD, to_sha=NEW, files=("infra/production/x.tf",)), OLD, (), False),
        (BaseMove(from_sha=OLD, to_sha=NEW, files=("infra/prod/vars.tf",)), OLD, (), True),
        (BaseMove(from_sha=OLD, to_sha=NEW, files=("infra/prod/t/a.tpl",)), OLD, (), True),
        (BaseMove(from_sha=OLD, to_sha=NEW, files=("modules/db/main.tf",)), OLD, (), False),
        (
            BaseMove(from_sha=OLD, to_sha=NEW, files=("modules/db/main.tf",)),
            OLD,
            ("modules/db",),
            True,
        ),
        (BaseMove(from_sha=OLD, error="main was rewritten (diverged)"), OLD, (), True),
        (BaseMove(from_sha=OLD, to_sha=NEW, files=("infra/prod/a.tf",)), "", (), False),
    ],
)
def test_a_plan_is_stale_when_the_base_moved_in_its_directories(
    move: BaseMove | None, base: str, modules: tuple[str, ...], stale: bool
) -> None:
    snapshot = snap(move, base=base, modules=modules)
    found = split_fresh(snapshot.plans, snapshot)
    assert (len(found.stale), len(found.fresh)) == ((1, 0) if stale else (0, 1))


def test_required_waits_for_a_new_plan_and_says_why() -> None:
    move = BaseMove(from_sha=OLD, to_sha=NEW, files=("infra/prod/vars.tf", "infra/prod/b.tf"))
    report = evaluate_snapshot(snap(move), GATE).report
    assert report.plans is not None and report.plans.missing == ("infra/prod",)
    digest = report.plans.stale[0].split()[2]
    assert check_title(report, conclusion_for(report)) == (
        f"infra/prod: plan {digest} is stale: base moved from 1111111 to 2222222, changing "
        "infra/prod/vars.tf, infra/prod/b.tf; post a new plan"
    )
    assert conclusion_for(report) == "action_required"
    assert not any(c.facts.get("source") == "plan" for c in report.changes)


def test_optional_says_stale_and_judges_the_source_alone() -> None:
    move = BaseMove(from_sha=OLD, to_sha=NEW, files=("infra/prod/vars.tf",))
    stale = evaluate_snapshot(snap(move, mode="optional"), GATE).report
    fresh = evaluate_snapshot(snap(None, mode="optional"), GATE).report
    assert stale.plans is not None and stale.plans.missing == () and len(stale.plans.stale) == 1
    assert "(judged on the source alone)" in render_markdown(stale)
    assert not any(c.facts.get("source") == "plan" for c in stale.changes)
    assert any(c.facts.get("source") == "plan" for c in fresh.changes)
    assert fresh.tier != stale.tier  # the plan's replace no longer counts


def test_local_module_sources_are_read_from_the_configuration() -> None:
    plan: dict[str, Any] = {
        "configuration": {
            "root_module": {
                "module_calls": {
                    "db": {
                        "source": "../../modules/db",
                        "module": {"module_calls": {"k": {"source": "./kms"}}},
                    },
                    "reg": {"source": "terraform-aws-modules/rds/aws"},
                    "out": {"source": "../../../elsewhere"},
                }
            }
        }
    }
    assert sorted(local_module_dirs(plan, "infra/prod")) == ["modules/db", "modules/db/kms"]
    assert local_module_dirs({}, "infra/prod") == ()
