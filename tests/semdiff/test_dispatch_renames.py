"""A file renamed without edits is exactly one change, whatever its kind (it once gave two)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.repo import parse_repo_config
from app.core.models import FileDiff, Kind
from app.semdiff.dispatch import analyze_files

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CONFIG = parse_repo_config('paths:\n  "catalog/**": {kind: pricing, key: id}\n')


@pytest.mark.parametrize(
    ("fixture", "old", "new", "kind"),
    [
        ("terraform/main.tf", "infra/main.tf", "infra/network.tf", "terraform"),
        ("terraform/prod.tfvars", "env/prod.tfvars", "env/production.tfvars", "terraform"),
        ("kubernetes/service.yaml", "k8s/svc.yaml", "k8s/shop/svc.yaml", "kubernetes"),
        ("kubernetes/list.json", "k8s/list.json", "apps/list.json", "kubernetes"),
        ("pricing/saas_plans.json", "catalog/plans.json", "catalog/plans-2025.json", "pricing"),
        (
            "workflow/release.yml",
            ".github/workflows/release.yml",
            ".github/workflows/cd.yml",
            "workflow",
        ),
        (
            "governance/agents.cedar",
            "policies/agents.cedar",
            "policies/agents-v2.cedar",
            "governance",
        ),
        ("sql/0043_reporting_role.sql", "db/0043.sql", "db/0043_reporting_role.sql", "sql"),
        ("data/flags_base.json", "config/flags.json", "config/feature-flags.json", "data"),
        ("data/regions.csv", "config/regions.csv", "reference/regions.csv", "data"),
        ("governance/CODEOWNERS", "docs/owners.txt", "docs/owners-2024.txt", "text"),
    ],
)
def test_rename_without_edits_is_one_change(fixture: str, old: str, new: str, kind: Kind) -> None:
    data = (FIXTURES / fixture).read_bytes()
    file = FileDiff(path=new, old_path=old, status="renamed", base=data, head=data)
    changes = analyze_files([file], CONFIG)
    assert [(c.op, c.address, c.file, c.old_file, c.kind) for c in changes] == [
        ("rename", new, new, old, kind)
    ]


@pytest.mark.parametrize(
    ("data", "path", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "assets/logo.png", "binary"),
        ((FIXTURES / "sql/0044_broken.sql").read_bytes(), "db/0044.sql", "SQL"),
        (b'resource "aws_s3_bucket" "x" {\n', "infra/broken.tf", "HCL"),
    ],
)
def test_unreadable_file_renamed_without_edits_is_one_change(
    data: bytes, path: str, reason: str
) -> None:
    old = path.replace("/", "/old-", 1)
    file = FileDiff(path=path, old_path=old, status="renamed", base=data, head=data)
    changes = analyze_files([file], CONFIG)
    assert len(changes) == 1
    (change,) = changes
    assert (change.op, change.old_file) == ("rename", old)
    assert reason in str(change.unparseable)
