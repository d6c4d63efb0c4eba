"""A module library's `modules/<name>` removed from the next release is not "Terraform will
destroy it" (issue #24), and anything that hints at a live configuration keeps it high.

Excerpts from terraform-aws-modules/terraform-aws-iam's v6 refactor (commit 31b31d77fc,
Apache-2.0, trimmed): `modules/iam-assumable-roles-with-saml` is deleted whole together with
`examples/iam-assumable-roles-with-saml`, which called it with `../../modules/…`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.core.snapshot import ContextFile
from app.risk import RulePack, evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files
from app.semdiff.terraform.libmodule import library_modules

ROOT = Path(__file__).resolve().parents[3]

SAML_MODULE = """resource "aws_iam_role" "readonly" {
  count = var.create_readonly_role ? 1 : 0

  name                 = var.readonly_role_name
  path                 = var.readonly_role_path
  max_session_duration = var.max_session_duration

  force_detach_policies = var.force_detach_policies
  permissions_boundary  = var.readonly_role_permissions_boundary_arn
  assume_role_policy    = data.aws_iam_policy_document.assume_role_with_saml.json

  tags = var.readonly_role_tags
}

resource "aws_iam_role_policy_attachment" "readonly" {
  count = var.create_readonly_role ? length(var.readonly_role_policy_arns) : 0

  role       = aws_iam_role.readonly[0].name
  policy_arn = element(var.readonly_role_policy_arns, count.index)
}
"""
SAML_EXAMPLE = """provider "aws" {
  region = "eu-west-1"
}

resource "aws_iam_saml_provider" "idp_saml" {
  name                   = "idp_saml"
  saml_metadata_document = file("saml-metadata.xml")
}

module "iam_assumable_roles_with_saml" {
  source = "../../modules/iam-assumable-roles-with-saml"

  create_readonly_role = true

  provider_id = aws_iam_saml_provider.idp_saml.id
}
"""
MODULE_PATH = "modules/iam-assumable-roles-with-saml/main.tf"
EXAMPLE_PATH = "examples/iam-assumable-roles-with-saml/main.tf"
LIVE_ROOT = """terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "prod/iam.tfstate"
  }
}

module "saml_roles" {
  source = "../../modules/iam-assumable-roles-with-saml"

  create_readonly_role = true
}
"""


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_rule_pack(ROOT / "risk_rules")


def findings(pack: RulePack, changes: list[Change]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in evaluate_rules(pack, changes, is_agent=False, author="alice"):
        out.setdefault(f.rule, []).append(f"{f.severity}:{f.address}")
    return {rule: sorted(found) for rule, found in out.items()}


def removed(path: str, content: str) -> FileDiff:
    return FileDiff(path=path, status="removed", base=content.encode())


def library_release() -> list[FileDiff]:
    """The v6 commit's shape: the submodule and the example calling it both deleted."""
    return [removed(MODULE_PATH, SAML_MODULE), removed(EXAMPLE_PATH, SAML_EXAMPLE)]


def test_a_library_submodule_removed_from_the_release_is_medium_not_a_destroy(
    pack: RulePack,
) -> None:
    found = findings(pack, analyze_files(library_release(), RepoConfig(), []))
    assert "terraform.delete" not in found
    assert found["terraform.library-module-delete"] == [
        "medium:aws_iam_role.readonly",
        "medium:aws_iam_role_policy_attachment.readonly",
    ]
    # The example's own objects are what they were: a library example, low.
    assert found["terraform.library-delete"] == [
        "low:aws_iam_saml_provider.idp_saml",
        "low:module.iam_assumable_roles_with_saml",
    ]


def test_a_live_root_calling_the_module_keeps_the_destroy_high(pack: RulePack) -> None:
    """The same deletion while `envs/prod` (a backend, a local call) applies the module."""
    live = FileDiff(
        path="envs/prod/main.tf",
        status="modified",
        base=LIVE_ROOT.encode(),
        head=LIVE_ROOT.replace(
            "create_readonly_role = true", "create_readonly_role = false"
        ).encode(),
    )
    found = findings(pack, analyze_files([*library_release(), live], RepoConfig(), []))
    assert found["terraform.delete"] == [
        "high:aws_iam_role.readonly",
        "high:aws_iam_role_policy_attachment.readonly",
    ]
    assert "terraform.library-module-delete" not in found


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        (ContextFile(path="envs/prod/main.tf", content=LIVE_ROOT.encode()), "live caller"),
        (
            ContextFile(path="live/prod/iam/terragrunt.hcl", content=b'include "root" {}\n'),
            "terragrunt",
        ),
        (
            ContextFile(path="backend.tf", content=b'terraform {\n  backend "gcs" {}\n}\n'),
            "backend",
        ),
        (
            ContextFile(
                path="main.tf",
                content=b'module "saml" {\n  source = "./modules/iam-assumable-roles-with-saml"\n}\n',
            ),
            "root module calls it",
        ),
    ],
)
def test_evidence_of_a_live_configuration_keeps_the_directory_live(
    extra: ContextFile, why: str
) -> None:
    assert library_modules(library_release(), [extra]) == frozenset(), why
    assert library_modules(library_release(), []) == {"modules/iam-assumable-roles-with-saml"}


def test_an_examples_directory_with_a_backend_is_a_live_caller(pack: RulePack) -> None:
    """`examples/prod` that declares where its state lives is a root someone applies: its call
    of the module is live, and the submodule's deletion stays a destroy (fail closed)."""
    live_example = ContextFile(path="examples/prod/main.tf", content=LIVE_ROOT.encode())
    assert library_modules(library_release(), [live_example]) == frozenset()
    changes = analyze_files(library_release(), RepoConfig(), [live_example])
    assert findings(pack, changes)["terraform.delete"] == [
        "high:aws_iam_role.readonly",
        "high:aws_iam_role_policy_attachment.readonly",
    ]


def test_without_an_example_calling_the_library_nothing_is_assumed(pack: RulePack) -> None:
    """A PR that only deletes `modules/<name>` shows no library: the destroy stays high."""
    changes = analyze_files([removed(MODULE_PATH, SAML_MODULE)], RepoConfig(), [])
    assert findings(pack, changes)["terraform.delete"] == [
        "high:aws_iam_role.readonly",
        "high:aws_iam_role_policy_attachment.readonly",
    ]


def test_a_commented_out_local_caller_still_counts_fail_safe() -> None:
    commented = ContextFile(
        path="envs/dev/main.tf",
        content=b'# module "saml" {\n#   source = "../../modules/iam-assumable-roles-with-saml"\n# }\n',
    )
    assert library_modules(library_release(), [commented]) == frozenset()


def test_a_resource_dropped_from_a_kept_submodule_is_medium_too(pack: RulePack) -> None:
    """Not only whole directories: the library's code changes for the next release."""
    kept = SAML_MODULE.split('resource "aws_iam_role_policy_attachment"')[0]
    changes = analyze_files(
        [
            FileDiff(
                path=MODULE_PATH,
                status="modified",
                base=SAML_MODULE.encode(),
                head=kept.encode(),
            ),
            FileDiff(
                path=EXAMPLE_PATH,
                status="modified",
                base=SAML_EXAMPLE.encode(),
                head=SAML_EXAMPLE.replace("eu-west-1", "eu-west-2").encode(),
            ),
        ],
        RepoConfig(),
        [
            ContextFile(
                path="modules/iam-assumable-roles-with-saml/.terraform.lock.hcl", content=b""
            )
        ],
    )
    found = findings(pack, changes)
    assert found["terraform.library-module-delete"] == [
        "medium:aws_iam_role_policy_attachment.readonly"
    ]
    assert "terraform.delete" not in found
