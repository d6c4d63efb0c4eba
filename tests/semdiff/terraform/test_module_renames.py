"""`moved` blocks onto existing objects and module-directory renames (issue #24).

Faithful re-creations of terraform-aws-modules/terraform-aws-iam's v6 refactor (commit
31b31d77fc, Apache-2.0): `aws_iam_access_key.this_no_pgp` folded into `aws_iam_access_key.this`
by a `moved` block in the same directory, and `modules/iam-github-oidc-provider` renamed to
`modules/iam-oidc-provider` with a `migrations.tf` in the new directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.core.snapshot import ContextFile
from app.risk import RulePack, evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files

ROOT = Path(__file__).resolve().parents[3]

KEYS_BASE = """resource "aws_iam_access_key" "this" {
  count = var.create_user && var.create_iam_access_key && var.pgp_key != "" ? 1 : 0

  user    = aws_iam_user.this[0].name
  pgp_key = var.pgp_key
  status  = var.iam_access_key_status
}

resource "aws_iam_access_key" "this_no_pgp" {
  count = var.create_user && var.create_iam_access_key && var.pgp_key == "" ? 1 : 0

  user   = aws_iam_user.this[0].name
  status = var.iam_access_key_status
}
"""
KEYS_HEAD = """resource "aws_iam_access_key" "this" {
  count = var.create && var.create_access_key ? 1 : 0

  user    = aws_iam_user.this[0].name
  pgp_key = var.pgp_key
  status  = var.access_key_status
}
"""
MOVED = """moved {
  from = %s
  to   = %s
}
"""

PROVIDER = """resource "aws_iam_openid_connect_provider" "%s" {
  url            = var.url
  client_id_list = var.client_id_list
}

data "tls_certificate" "this" {
  url = var.url
}
"""
OUTPUTS = """output "arn" {
  value = aws_iam_openid_connect_provider.this.arn
}
"""


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_rule_pack(ROOT / "risk_rules")


def ops(changes: list[Change]) -> list[tuple[str, str]]:
    return sorted((c.op, c.address) for c in changes if c.facts.get("block_type"))


def deletes(pack: RulePack, changes: list[Change]) -> list[str]:
    findings = evaluate_rules(pack, changes, is_agent=True, author="infra-bot[bot]")
    return [f.address or "" for f in findings if f.rule.startswith("terraform.delete")]


def test_moved_onto_an_existing_object_in_the_same_directory_is_not_a_destroy(
    pack: RulePack,
) -> None:
    changes = analyze_files(
        [
            FileDiff(
                path="modules/iam-user/main.tf", base=KEYS_BASE.encode(), head=KEYS_HEAD.encode()
            ),
            FileDiff(
                path="modules/iam-user/migrations.tf",
                status="added",
                head=(
                    MOVED % ("aws_iam_access_key.this_no_pgp", "aws_iam_access_key.this")
                ).encode(),
            ),
        ],
        RepoConfig(),
        [],
    )
    assert ops(changes) == [
        ("rename", "aws_iam_access_key.this"),
        ("update", "aws_iam_access_key.this"),
    ]
    (rename,) = [c for c in changes if c.op == "rename"]
    assert rename.facts["from"] == "aws_iam_access_key.this_no_pgp"
    assert rename.facts["into_existing"] is True
    assert deletes(pack, changes) == []


def test_several_moved_blocks_onto_one_new_target_are_all_honoured(pack: RulePack) -> None:
    base = 'resource "aws_iam_policy" "cert_manager" {}\nresource "aws_iam_policy" "karpenter" {}\n'
    head = 'resource "aws_iam_policy" "this" {\n  name = var.name\n}\n'
    migrations = MOVED % ("aws_iam_policy.cert_manager", "aws_iam_policy.this") + MOVED % (
        "aws_iam_policy.karpenter",
        "aws_iam_policy.this",
    )
    changes = analyze_files(
        [
            FileDiff(path="m/policies.tf", base=base.encode(), head=head.encode()),
            FileDiff(path="m/migrations.tf", status="added", head=migrations.encode()),
        ],
        RepoConfig(),
        [],
    )
    assert ops(changes) == [("rename", "aws_iam_policy.this")] * 2
    assert deletes(pack, changes) == []


def renamed(name: str, base: str, head: str) -> FileDiff:
    return FileDiff(
        path=f"modules/iam-oidc-provider/{name}",
        old_path=f"modules/iam-github-oidc-provider/{name}",
        status="renamed",
        base=base.encode(),
        head=head.encode(),
    )


def test_a_renamed_module_directory_is_the_same_module(pack: RulePack) -> None:
    """Objects still in the head are not deleted; `moved` in the new directory applies."""
    changes = analyze_files(
        [
            renamed("main.tf", PROVIDER % "github", PROVIDER % "this"),
            renamed("outputs.tf", OUTPUTS.replace(".this.", ".github."), OUTPUTS),
            FileDiff(
                path="modules/iam-oidc-provider/migrations.tf",
                status="added",
                head=(
                    MOVED
                    % (
                        "aws_iam_openid_connect_provider.github",
                        "aws_iam_openid_connect_provider.this",
                    )
                ).encode(),
            ),
        ],
        RepoConfig(),
        [],
    )
    assert ops(changes) == [
        ("rename", "aws_iam_openid_connect_provider.this"),
        ("update", "output.arn"),
    ]
    assert {c.facts["module_dir"] for c in changes if c.facts.get("block_type")} == {
        "modules/iam-oidc-provider"
    }
    assert deletes(pack, changes) == []


def test_a_directory_that_keeps_files_in_the_head_is_not_joined(pack: RulePack) -> None:
    """Only a directory wholly renamed is one module: a split still deletes and creates."""
    changes = analyze_files(
        [renamed("main.tf", PROVIDER % "this", PROVIDER % "this")],
        RepoConfig(),
        [ContextFile(path="modules/iam-github-oidc-provider/outputs.tf", content=OUTPUTS.encode())],
    )
    assert ("delete", "aws_iam_openid_connect_provider.this") in ops(changes)
    assert deletes(pack, changes) == ["aws_iam_openid_connect_provider.this"]
