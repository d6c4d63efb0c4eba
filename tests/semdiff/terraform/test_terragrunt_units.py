"""Deleting a unit of a live Terragrunt repository stays high (#24 review): the engine reads
`terragrunt.hcl` as text, and a text delete was `change.unclassified` (low, tier 1).

Excerpt (comments dropped) from gruntwork-io/terragrunt-infrastructure-live-example at
456c177c5f, `prod/us-east-1/prod/mysql/terragrunt.hcl` (Apache-2.0).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.risk import RulePack, evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files

ROOT = Path(__file__).resolve().parents[3]

UNIT = """include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path   = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/mysql.hcl"
  expose = true
}

terraform {
  source = "${include.envcommon.locals.base_source_url}?ref=v0.8.0"
}

inputs = {
  instance_class    = "db.t2.medium"
  allocated_storage = 100
}
"""
UNIT_PATH = "prod/us-east-1/prod/mysql/terragrunt.hcl"


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_rule_pack(ROOT / "risk_rules")


def rules(pack: RulePack, file: FileDiff) -> dict[str, str]:
    changes = analyze_files([file], RepoConfig(), [])
    found = evaluate_rules(pack, changes, is_agent=False, author="alice")
    return {f.rule: str(f.severity) for f in found}


def test_deleting_a_live_terragrunt_unit_is_high(pack: RulePack) -> None:
    found = rules(pack, FileDiff(path=UNIT_PATH, status="removed", base=UNIT.encode()))
    assert found == {"terraform.terragrunt-unit-delete": "high"}


def test_editing_a_unit_or_deleting_another_hcl_file_is_not_a_unit_delete(
    pack: RulePack,
) -> None:
    edited = FileDiff(
        path=UNIT_PATH,
        status="modified",
        base=UNIT.encode(),
        head=UNIT.replace("v0.8.0", "v0.9.0").encode(),
    )
    assert "terraform.terragrunt-unit-delete" not in rules(pack, edited)
    region = FileDiff(
        path="prod/us-east-1/region.hcl",
        status="removed",
        base=b'locals {\n  aws_region = "us-east-1"\n}\n',
    )
    assert "terraform.terragrunt-unit-delete" not in rules(pack, region)
