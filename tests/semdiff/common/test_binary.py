"""A git-crypt encrypted file is reported as encrypted, still failing closed (#24).

ministryofjustice/cloud-platform-infrastructure keeps `terraform.tfvars` encrypted with
git-crypt (a fixed `\\0GITCRYPT\\0` header, then ciphertext): a re-creation of that header.
"""

from __future__ import annotations

from pathlib import Path

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.risk import evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files

PACK = load_rule_pack(Path(__file__).resolve().parents[3] / "risk_rules")
PATH = "terraform/aws-accounts/cloud-platform-aws/vpc/eks/core/components/terraform.tfvars"


def test_git_crypt_content_is_named_encrypted_and_still_reviewed() -> None:
    diff = FileDiff(
        path=PATH,
        base=b"\x00GITCRYPT\x00\x8f\x12\x00\xa7 old ciphertext",
        head=b"\x00GITCRYPT\x00\x02\xfe\x00\x11 new ciphertext",
    )
    (change,) = analyze_files([diff], RepoConfig())
    assert change.facts["binary"] is True
    assert change.facts["encrypted"] is True
    assert "git-crypt encrypted" in (change.unparseable or "")
    findings = evaluate_rules(PACK, [change], is_agent=True, author="x")
    assert [f.rule for f in findings] == ["analysis.unparseable"]


def test_other_binary_content_says_binary() -> None:
    diff = FileDiff(path="docs/logo.png", base=None, head=b"\x89PNG\r\n\x1a\n\x00\x00")
    (change,) = analyze_files([diff], RepoConfig())
    assert "encrypted" not in change.facts
    assert change.unparseable == "binary content cannot be reviewed semantically"
