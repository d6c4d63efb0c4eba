"""`countersign analyze --plan`: a plan alone, and a plan together with the source diff."""

from __future__ import annotations

import json
from pathlib import Path

from .test_main import AGENT_EMAIL, git, run, write

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "terraform_plan"
DB_TF = """resource "aws_db_instance" "orders" {
  identifier     = "orders-prod"
  engine         = "mysql"
  instance_class = "db.r6g.large"
}

variable "env" {
  default = "prod"
}
"""


def plan_for_orders(engine_before: str, engine_after: str) -> dict[str, object]:
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "resource_changes": [
            {
                "address": "aws_db_instance.orders",
                "mode": "managed",
                "type": "aws_db_instance",
                "name": "orders",
                "change": {
                    "actions": ["delete", "create"],
                    "before": {"engine": engine_before, "identifier": "orders-prod"},
                    "after": {"engine": engine_after, "identifier": "orders-prod"},
                    "after_unknown": {"id": True},
                    "replace_paths": [["engine"]],
                },
                "action_reason": "replace_because_cannot_update",
            }
        ],
    }


def test_a_plan_alone_gives_the_replacement_and_tier_3() -> None:
    proc = run("analyze", "--plan", str(FIXTURES / "db_replace.json"), "--plan-dir", "infra/prod")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    replaced = [c for c in report["changes"] if c["op"] == "replace"]
    assert {c["address"] for c in replaced} == {
        "module.db.aws_db_instance.this[0]",
        "module.db.aws_db_parameter_group.this[0]",
    }
    assert report["tier"] == 3
    assert "hunter2" not in proc.stdout and "n3w-s3cret" not in proc.stdout


def test_the_plan_wins_for_the_same_object_and_other_source_changes_still_count(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "infra"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", "git@github.com:acme/platform.git")
    write(repo, {"infra/prod/db.tf": DB_TF})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    head = DB_TF.replace('"mysql"', '"postgres"').replace('"prod"', '"production"')
    write(repo, {"infra/prod/db.tf": head})
    git(
        repo,
        "commit",
        "-qam",
        "Move orders to PostgreSQL\n\nAgent-Run-Id: run_plan_1",
        email=AGENT_EMAIL,
    )
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(plan_for_orders("mysql", "postgres")))
    proc = run(
        "analyze", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD",
        "--plan", str(plan), "--plan-dir", "infra/prod",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    ops = {(c["file"], c["address"], c["op"]) for c in report["changes"]}
    # The source only says `engine` changed; the plan says the database is destroyed.
    assert ("infra/prod/plan.json", "aws_db_instance.orders", "replace") in ops
    assert ("infra/prod/db.tf", "aws_db_instance.orders", "update") not in ops
    assert ("infra/prod/db.tf", "var.env", "update") in ops
    assert report["tier"] == 3
    digest = next(c for c in report["changes"] if c["op"] == "replace")["facts"]["plan_sha256"]
    assert len(digest) == 64


def test_a_file_that_is_not_a_plan_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "plan.json"
    bogus.write_text('{"resources": []}')
    proc = run("analyze", "--plan", str(bogus))
    assert proc.returncode != 0
    said = " ".join(proc.stderr.split())  # the console wraps long lines
    assert "not a Terraform plan" in said and "terraform show -json" in said
