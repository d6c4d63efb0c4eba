"""Recall on real risky Terraform commits (issue #24, corpus/recall.yaml): they stay found.

Faithful re-creations of ministryofjustice/cloud-platform-infrastructure (MIT) commits.
"""

from __future__ import annotations

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.risk import RulePack, evaluate_rules
from app.semdiff.dispatch import analyze_files


def findings(pack: RulePack, base: str, head: str, path: str = "opensearch.tf") -> set[tuple]:
    diff = FileDiff(path=path, base=base.encode() or None, head=head.encode())
    changes = analyze_files([diff], RepoConfig(), [])
    found = evaluate_rules(pack, changes, is_agent=True, author="infra-bot[bot]")
    return {(f.rule, f.severity, f.address) for f in found}


# 914600aa9a "initial commit of live-2 opensearch": the domain's access role trusts any AWS
# account (`identifiers = ["*"]`, no condition).
TRUST = """data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [%s]
    }
    %s
  }
}

resource "aws_iam_role" "access" {
  name               = "opensearch-access-role-app-logs"
  assume_role_policy = %s
}
"""
ORG = """condition {
      test     = "StringEquals"
      variable = "aws:PrincipalOrgID"
      values   = ["o-abc123"]
    }"""
ACCOUNT = '"arn:aws:iam::123456789012:root"'
OPEN = ("terraform.iam-open-principal", "high", "data.aws_iam_policy_document.assume")


def test_trust_policy_open_to_any_account_is_high(default_pack: RulePack) -> None:
    doc = "data.aws_iam_policy_document.assume.json"
    assert OPEN in findings(default_pack, "", TRUST % ('"*"', "", doc))
    assert OPEN in findings(default_pack, TRUST % (ACCOUNT, "", doc), TRUST % ('"*"', "", doc))


def test_conditioned_unchanged_or_denied_statements_are_not_open(default_pack: RulePack) -> None:
    doc = "data.aws_iam_policy_document.assume.json"
    rules = {r for r, _, _ in findings(default_pack, "", TRUST % ('"*"', ORG, doc))}
    assert "terraform.iam-open-principal" not in rules
    same = TRUST % ('"*"', "", doc)
    renamed = same.replace("opensearch-access-role-app-logs", "opensearch-access")
    assert not {r for r, _, _ in findings(default_pack, same, renamed)} & {OPEN[0]}
    denied = same.replace('actions = ["sts:AssumeRole"]', 'effect = "Deny"\n    actions = ["*"]')
    assert OPEN[0] not in {r for r, _, _ in findings(default_pack, "", denied)}


def test_jsonencode_and_json_trust_policies(default_pack: RulePack) -> None:
    encoded = (
        'jsonencode({Version = "2012-10-17", Statement = [{Action = "sts:AssumeRole",'
        ' Effect = "Allow", Principal = { AWS = "*" }}]})'
    )
    role = ("terraform.iam-open-principal", "high", "aws_iam_role.access")
    assert role in findings(default_pack, "", TRUST % (ACCOUNT, "", encoded))
    heredoc = (
        '<<EOF\n{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",'
        ' "Principal": "*"}]}\nEOF'
    )
    assert role in findings(default_pack, "", TRUST % (ACCOUNT, "", heredoc))
    conditioned = encoded.replace("}}]})", '}, Condition = { Bool = { "x" = "true" } }}]})')
    assert role not in findings(default_pack, "", TRUST % (ACCOUNT, "", conditioned))


# b748f37448 "give os perms to org-sec-audit" and 3230c181cc "add sso role to opensearch": new
# members of the all_access mapping, and a role with every permission.
MAPPING = """resource "elasticsearch_opensearch_roles_mapping" "all_access_app_logs" {
  role_name     = "%s"
  backend_roles = concat([
    "webops",%s
    aws_iam_role.os_access_role_app_logs.arn,
  ], values(data.aws_eks_node_group.current)[*].node_role_arn)
  users = ["arn:aws:iam::754256621582:user/cloud-platform/manager-concourse"%s]
}
"""
SSO = ', "arn:aws:iam::754256621582:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin"'
ROLE = """resource "elasticsearch_opensearch_role" "org_sec_audit_app_logs" {
  role_name           = "organisation-security-auditor"
  cluster_permissions = [%s]
  index_permissions {
    index_patterns  = ["*"]
    allowed_actions = [%s]
  }
}
"""
ADMIN = "terraform.search-admin-access"


def test_new_members_of_the_admin_role_mapping_are_high(default_pack: RulePack) -> None:
    address = "elasticsearch_opensearch_roles_mapping.all_access_app_logs"
    base = MAPPING % ("all_access", "", "")
    auditor = MAPPING % ("all_access", '\n    "organisation-security-auditor",', "")
    assert (ADMIN, "high", address) in findings(default_pack, base, auditor)
    assert (ADMIN, "high", address) in findings(
        default_pack, base, MAPPING % ("all_access", "", SSO)
    )
    readall = MAPPING % ("readall", "", "")
    widened = MAPPING % ("readall", "", SSO)
    assert ADMIN not in {r for r, _, _ in findings(default_pack, readall, widened)}
    shrunk = {r for r, _, _ in findings(default_pack, MAPPING % ("all_access", "", SSO), base)}
    assert ADMIN not in shrunk, "removing a member narrows access"


def test_a_role_with_every_permission_is_high(default_pack: RulePack) -> None:
    address = "elasticsearch_opensearch_role.org_sec_audit_app_logs"
    wide = ROLE % ('"*"', '"cluster_all", "indices_all"')
    assert (ADMIN, "high", address) in findings(default_pack, "", wide)
    narrow = ROLE % ('"cluster_composite_ops_ro"', '"read"')
    assert ADMIN not in {r for r, _, _ in findings(default_pack, "", narrow)}
    assert ADMIN not in {r for r, _, _ in findings(default_pack, wide, wide + "\n")}


# 3e5f93941f "remove old default node group": a key leaves the map of node groups the EKS module
# makes one node group per key from; no resource block is deleted.
CLUSTER = """locals {
  tags = {%s
    Terraform = "true"
  }
  default_ng_10_12_25 = {
    desired_size = 3
    subnet_ids   = data.aws_subnets.eks_private.ids
  }
  default_ng_19_06_26 = {
    desired_size = 5
  }
  eks_managed_node_groups = merge(
    {%s
      default_ng_19_06_26 = local.default_ng_19_06_26,
    },
    terraform.workspace == "live" ? { containment_ng = local.default_ng_19_06_26 } : {},
  )
}

module "eks" {
  source                  = "terraform-aws-modules/eks/aws"
  version                 = "18.31.2"
  eks_managed_node_groups = local.eks_managed_node_groups
  tags                    = local.tags
}
"""
OLD_NG = "\n      default_ng_10_12_25 = local.default_ng_10_12_25,"
OLD_TAG = '\n    Owner = "platforms"'
KEYS = "terraform.instance-keys-removed"


def test_a_node_group_key_removed_from_a_module_map_is_high(default_pack: RulePack) -> None:
    found = findings(default_pack, CLUSTER % ("", OLD_NG), CLUSTER % ("", ""), "eks/cluster.tf")
    assert (KEYS, "high", "local.eks_managed_node_groups") in found


def test_string_maps_and_library_examples_are_not_instances(default_pack: RulePack) -> None:
    tags = findings(default_pack, CLUSTER % (OLD_TAG, ""), CLUSTER % ("", ""), "eks/cluster.tf")
    assert KEYS not in {r for r, _, _ in tags}, "a tag removed destroys nothing"
    added = findings(default_pack, CLUSTER % ("", ""), CLUSTER % ("", OLD_NG), "eks/cluster.tf")
    assert KEYS not in {r for r, _, _ in added}
    example = "examples/complete/main.tf"
    assert KEYS not in {
        r for r, _, _ in findings(default_pack, CLUSTER % ("", OLD_NG), CLUSTER % ("", ""), example)
    }
