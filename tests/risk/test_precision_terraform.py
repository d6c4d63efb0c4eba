"""Precision on unseen Terraform repositories (issue #24): routine module-release edits stay low.

The `versions.tf` shapes are faithful re-creations of the terraform-aws-modules and
terraform-google-modules release commits (Apache-2.0): a provider floor raised within a major
version and `provider_meta` attribution strings that change with every release.
"""

from __future__ import annotations

from typing import Any

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.risk import RulePack, evaluate_rules
from app.semdiff.dispatch import analyze_files

VERSIONS = """terraform {
  required_version = ">= 1.5.7"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "%(aws)s"
    }
    google = {
      source  = "%(source)s"
      version = ">= 6.47.0, < 8"
    }
  }

  provider_meta "aws" {
    user_agent = ["github.com/terraform-aws-modules/terraform-aws-s3-bucket/%(release)s"]
  }
  provider_meta "google" {
    module_name = "blueprints/terraform/terraform-google-kubernetes-engine:private/%(release)s"
  }
  %(backend)s
}

provider "aws" {
  region = "%(region)s"
}
"""
BASE = {
    "aws": ">= 6.39",
    "source": "hashicorp/google",
    "release": "v5.8.1",
    "backend": "",
    "region": "eu-west-1",
}


def rules(pack: RulePack, **edit: str) -> list[tuple[str, str, str]]:
    head: dict[str, Any] = {**BASE, **edit}
    diff = FileDiff(
        path="versions.tf", base=(VERSIONS % BASE).encode(), head=(VERSIONS % head).encode()
    )
    changes = analyze_files([diff], RepoConfig(), [])
    findings = evaluate_rules(pack, changes, is_agent=True, author="renovate[bot]")
    return sorted((f.rule, f.severity, f.address) for f in findings)


def test_release_bump_is_routine(default_pack: RulePack) -> None:
    assert rules(default_pack, aws=">= 6.42", release="v5.9.0") == [
        ("terraform.change", "low", "terraform")
    ]


def test_major_version_source_backend_and_region_still_fire(default_pack: RulePack) -> None:
    high = ("terraform.provider-backend", "high", "terraform")
    assert high in rules(default_pack, aws=">= 7.0")
    assert high in rules(default_pack, source="acme/google")
    assert high in rules(default_pack, aws=">= 6.42", backend='backend "s3" {}')
    assert ("terraform.provider-backend", "high", "provider.aws") in rules(
        default_pack, region="us-east-1"
    )


# A faithful re-creation of an IRSA policy document edit (terraform-aws-iam 673fb442b1,
# Apache-2.0): one statement's condition changes, the wildcard statement beside it does not.
POLICY = """data "aws_iam_policy_document" "gateway" {
  statement {
    %(sid)s
    actions   = ["%(wildcard)s"]
    resources = ["*"]
  }

  statement {
    actions   = ["%(action)s"]
    resources = ["arn:aws:iam::*:role/aws-service-role/vpc-lattice/AWSServiceRoleForVpcLattice"]
    condition {
      test     = "StringLike"
      variable = "iam:AWSServiceName"
      values   = [%(service)s]
    }
  }
}
"""
POLICY_BASE = {
    "sid": "",
    "wildcard": "vpc-lattice:*",
    "action": "iam:CreateServiceLinkedRole",
    "service": '"vpc-lattice.${local.dns_suffix}"',
}


def policy_findings(pack: RulePack, base: dict[str, str], **edit: str) -> list[tuple[str, str]]:
    head = {**base, **edit}
    diff = FileDiff(
        path="modules/irsa/policies.tf",
        base=(POLICY % base).encode(),
        head=(POLICY % head).encode(),
    )
    changes = analyze_files([diff], RepoConfig(), [])
    findings = evaluate_rules(pack, changes, is_agent=True, author="renovate[bot]")
    return sorted((f.rule, f.message) for f in findings)


def test_unchanged_wildcard_statement_is_not_reported_again(default_pack: RulePack) -> None:
    service = "data.aws_service_principal.vpc_lattice[0].name"
    assert [r for r, _ in policy_findings(default_pack, POLICY_BASE, service=service)] == [
        "terraform.change"
    ]
    named = {**POLICY_BASE, "sid": 'sid = "Lattice"'}
    assert [r for r, _ in policy_findings(default_pack, named, service=service)] == [
        "terraform.change"
    ]


def test_a_statement_that_gains_a_wildcard_is_reported(default_pack: RulePack) -> None:
    hits = policy_findings(default_pack, POLICY_BASE, action="iam:*")
    assert [r for r, _ in hits] == ["terraform.iam-wildcard"]
    assert "statement[#2].actions" in hits[0][1]


def test_a_new_module_directory_declaring_its_requirements_is_routine(
    default_pack: RulePack,
) -> None:
    """A new `modules/x/versions.tf` (no backend) moves no state; a new backend does."""

    def created(text: str) -> list[str]:
        diff = FileDiff(path="modules/vectors/versions.tf", status="added", head=text.encode())
        changes = analyze_files([diff], RepoConfig(), [])
        findings = evaluate_rules(default_pack, changes, is_agent=True, author="renovate[bot]")
        return sorted(f.rule for f in findings)

    requirements = 'terraform {\n  required_providers {\n    aws = ">= 6.42"\n  }\n}\n'
    assert created(requirements) == ["terraform.change"]
    backend = 'terraform {\n  backend "s3" {\n    bucket = "acme-tf-state"\n  }\n}\n'
    assert created(backend) == ["terraform.provider-backend"]
