"""Module directories renamed without git renames, and a module library's example directories
(issue #24).

Excerpts from terraform-aws-modules/terraform-aws-iam's v6 refactor (commit 31b31d77fc,
Apache-2.0, trimmed): `modules/iam-group-with-policies` is deleted whole and `modules/iam-group`
added, its `migrations.tf` carrying `moved { from = aws_iam_policy.iam_self_management … }`;
git pairs none of the files as renames. And terraform-aws-s3-bucket's deleted
`examples/complete-legacy` (commit 0392b0faa8, Apache-2.0) and its provider floor bumps in
`examples/*/versions.tf` (commit c37f4c30a9).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.core.snapshot import ContextFile
from app.risk import RulePack, evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files
from app.semdiff.terraform.library import library_role

ROOT = Path(__file__).resolve().parents[3]

GROUP_BASE = """resource "aws_iam_group" "this" {
  count = var.create_group ? 1 : 0

  name = var.name
  path = var.path
}

resource "aws_iam_group_membership" "this" {
  count = length(var.group_users) > 0 ? 1 : 0

  group = local.group_name
  name  = var.name
  users = var.group_users
}

resource "aws_iam_group_policy_attachment" "iam_self_management" {
  count = var.attach_iam_self_management_policy ? 1 : 0

  group      = local.group_name
  policy_arn = aws_iam_policy.iam_self_management[0].arn
}

resource "aws_iam_policy" "iam_self_management" {
  count = var.attach_iam_self_management_policy ? 1 : 0

  name_prefix = var.iam_self_management_policy_name_prefix
  policy      = data.aws_iam_policy_document.iam_self_management.json
}
"""
GROUP_HEAD = """resource "aws_iam_group" "this" {
  count = var.create ? 1 : 0

  name = var.use_name_prefix ? null : var.name
  path = var.path
}

resource "aws_iam_group_membership" "this" {
  count = var.create && length(var.users) > 0 ? 1 : 0

  group = aws_iam_group.this[0].id
  name  = var.name
  users = var.users
}

resource "aws_iam_policy" "this" {
  count = var.create && var.create_policy ? 1 : 0

  name_prefix = var.use_name_prefix ? "${var.name}-" : null
  policy      = data.aws_iam_policy_document.this[0].json
}

resource "aws_iam_group_policy_attachment" "this" {
  count = var.create && var.create_policy ? 1 : 0

  group      = aws_iam_group.this[0].id
  policy_arn = aws_iam_policy.this[0].arn
}
"""
MIGRATIONS = """moved {
  from = aws_iam_policy.iam_self_management
  to   = aws_iam_policy.this
}

moved {
  from = aws_iam_group_policy_attachment.iam_self_management
  to   = aws_iam_group_policy_attachment.this
}
"""


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_rule_pack(ROOT / "risk_rules")


def findings(pack: RulePack, changes: list[Change]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in evaluate_rules(pack, changes, is_agent=False, author="alice"):
        out.setdefault(f.rule, []).append(f"{f.severity}:{f.address}")
    return out


def ops(changes: list[Change]) -> list[tuple[str, str]]:
    return sorted((c.op, c.address) for c in changes if c.facts.get("block_type"))


def removed(path: str, content: str) -> FileDiff:
    return FileDiff(path=path, status="removed", base=content.encode())


def added(path: str, content: str) -> FileDiff:
    return FileDiff(path=path, status="added", head=content.encode())


def test_a_directory_whose_objects_moved_blocks_carry_on_is_renamed_not_destroyed(
    pack: RulePack,
) -> None:
    changes = analyze_files(
        [
            removed("modules/iam-group-with-policies/main.tf", GROUP_BASE),
            added("modules/iam-group/main.tf", GROUP_HEAD),
            added("modules/iam-group/migrations.tf", MIGRATIONS),
        ],
        RepoConfig(),
        [],
    )
    assert ops(changes) == [
        ("rename", "aws_iam_group_policy_attachment.this"),
        ("rename", "aws_iam_policy.this"),
        ("update", "aws_iam_group.this"),
        ("update", "aws_iam_group_membership.this"),
    ]
    assert "terraform.delete" not in findings(pack, changes)


def test_a_new_directory_declaring_most_objects_is_the_successor_without_moved_blocks() -> None:
    changes = analyze_files(
        [
            removed("modules/iam-group-with-policies/main.tf", GROUP_BASE),
            added("modules/iam-group/main.tf", GROUP_BASE.replace("var.path", '"/"')),
        ],
        RepoConfig(),
        [],
    )
    assert ops(changes) == [
        ("update", "aws_iam_group.this"),
    ]


def test_two_candidate_successors_are_ambiguous_and_the_deletes_stand(pack: RulePack) -> None:
    changes = analyze_files(
        [
            removed("modules/iam-group-with-policies/main.tf", GROUP_BASE),
            added("modules/iam-group/main.tf", GROUP_HEAD),
            added("modules/iam-group/migrations.tf", MIGRATIONS),
            added("modules/iam-group-v2/main.tf", GROUP_HEAD),
            added("modules/iam-group-v2/migrations.tf", MIGRATIONS),
        ],
        RepoConfig(),
        [],
    )
    deleted = findings(pack, changes)["terraform.delete"]
    assert "high:aws_iam_policy.iam_self_management" in deleted
    assert len(deleted) == 4


def test_a_deleted_directory_without_successor_is_destroyed(pack: RulePack) -> None:
    """Recall: an unrelated new directory does not absorb a real removal."""
    changes = analyze_files(
        [
            removed("modules/iam-group-with-policies/main.tf", GROUP_BASE),
            added("modules/iam-user/main.tf", 'resource "aws_iam_user" "this" {}\n'),
        ],
        RepoConfig(),
        [],
    )
    assert sorted(findings(pack, changes)["terraform.delete"]) == [
        "high:aws_iam_group.this",
        "high:aws_iam_group_membership.this",
        "high:aws_iam_group_policy_attachment.iam_self_management",
        "high:aws_iam_policy.iam_self_management",
    ]


LEGACY_EXAMPLE = """resource "random_pet" "this" {
  length = 2
}

resource "aws_kms_key" "objects" {
  description             = "KMS key is used to encrypt bucket objects"
  deletion_window_in_days = 7
}

module "s3_bucket" {
  source = "../../"

  bucket        = "s3-bucket-${random_pet.this.id}"
  force_destroy = true
}
"""


@pytest.mark.parametrize(
    ("directory", "role"),
    [
        ("examples/complete-legacy", "example"),
        ("modules/vpc/examples/simple", "example"),
        ("wrappers/iam-eks-role", "wrapper"),
        ("test/fixtures/simple_zonal", "test"),
        ("envs/test", None),
        ("test", None),
        ("modules/examples-bucket", None),
        ("", None),
    ],
)
def test_library_roles_come_from_whole_path_segments(directory: str, role: str | None) -> None:
    assert library_role(directory) == role


def test_a_deleted_example_directory_is_reported_as_what_it_is(pack: RulePack) -> None:
    changes = analyze_files(
        [removed("examples/complete-legacy/main.tf", LEGACY_EXAMPLE)], RepoConfig(), []
    )
    found = findings(pack, changes)
    assert "terraform.delete" not in found
    assert "terraform.delete-stateful" not in found
    assert sorted(found["terraform.library-delete"]) == [
        "low:aws_kms_key.objects",
        "low:module.s3_bucket",
        "low:random_pet.this",
    ]


def test_the_same_delete_in_a_live_test_environment_stays_critical(pack: RulePack) -> None:
    changes = analyze_files([removed("envs/test/main.tf", LEGACY_EXAMPLE)], RepoConfig(), [])
    found = findings(pack, changes)
    assert found["terraform.delete-stateful"] == ["critical:aws_kms_key.objects"]
    assert "terraform.library-delete" not in found


def test_an_example_directory_that_declares_a_backend_is_live(pack: RulePack) -> None:
    """A path segment named `examples` is no proof: with a backend the directory is a root
    someone applies, and its deletes keep their full severity."""
    backend = 'terraform {\n  backend "s3" {\n    key = "prod.tfstate"\n  }\n}\n\n'
    for content in (backend + LEGACY_EXAMPLE, LEGACY_EXAMPLE + "\n" + backend):
        changes = analyze_files([removed("examples/prod/main.tf", content)], RepoConfig(), [])
        found = findings(pack, changes)
        assert found["terraform.delete-stateful"] == ["critical:aws_kms_key.objects"]
        assert "terraform.library-delete" not in found


def test_a_backend_in_an_unchanged_sibling_file_keeps_the_example_live(pack: RulePack) -> None:
    sibling = ContextFile(
        path="examples/prod/backend.tf",
        content=b'terraform {\n  cloud {\n    organization = "acme"\n  }\n}\n',
    )
    changes = analyze_files(
        [removed("examples/prod/main.tf", LEGACY_EXAMPLE)], RepoConfig(), [sibling]
    )
    found = findings(pack, changes)
    assert found["terraform.delete-stateful"] == ["critical:aws_kms_key.objects"]
    assert "terraform.library-delete" not in found


VERSIONS = """terraform {
  required_version = ">= %s"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= %s"
    }
  }
}
"""


def versions(directory: str, before: str, after: str) -> FileDiff:
    return FileDiff(
        path=f"{directory}/versions.tf" if directory else "versions.tf",
        base=(VERSIONS % ("1.0", before)).encode(),
        head=(VERSIONS % ("1.10", after)).encode(),
    )


def test_a_major_provider_jump_is_high_in_a_module_but_not_in_its_examples(
    pack: RulePack,
) -> None:
    changes = analyze_files(
        [
            versions("", "5.83", "6.0"),
            versions("modules/object", "5.24", "6.0"),
            versions("examples/complete", "5.83", "6.0"),
            versions("wrappers/object", "5.24", "6.0"),
        ],
        RepoConfig(),
        [],
    )
    found = findings(pack, changes)
    assert sorted(found["terraform.provider-backend"]) == ["high:terraform", "high:terraform"]
    flagged = {
        c.facts["module_dir"]
        for c in changes
        for f in evaluate_rules(pack, [c], is_agent=False, author="alice")
        if f.rule == "terraform.provider-backend"
    }
    assert flagged == {"", "modules/object"}
