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
