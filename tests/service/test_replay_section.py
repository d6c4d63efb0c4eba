"""Which PRs get a replay section: edits to the files the gate loads, or to the repo config's
tier-relevant keys (a label or mode change is no proposal)."""

from __future__ import annotations

from app.config.repo import parse_repo_config
from app.core.models import FileDiff
from app.core.snapshot import PullRequestSnapshot
from app.service.replay_section import gate_edits

BASE = b"approvers:\n  pricing: ['@acme/finance']\n"


def edits(*files: FileDiff) -> tuple[object, ...]:
    snapshot = PullRequestSnapshot(repo="a/b", number=1, head_sha="f" * 40, files=files)
    return gate_edits(snapshot, parse_repo_config(BASE))


def test_rule_and_policy_files_are_proposals() -> None:
    files, config, edited = edits(
        FileDiff(path="risk_rules/pricing.yaml", head=b"rules: []\n"),
        FileDiff(path="policies/agents.yaml", status="removed", base=b"agents: []\n"),
        FileDiff(
            path="policies/new.cedar",
            old_path="policies/old.cedar",
            status="renamed",
            head=b"permit(principal, action, resource);\n",
        ),
        FileDiff(path="risk_rules/examples/x.yaml", head=b"x"),  # not loaded: no proposal
        FileDiff(path="docs/risk_rules/pricing.yaml", head=b"x"),
    )
    assert files == {
        "risk_rules/pricing.yaml": b"rules: []\n",
        "policies/agents.yaml": None,
        "policies/old.cedar": None,
        "policies/new.cedar": b"permit(principal, action, resource);\n",
    }
    assert config is None
    assert edited == sorted(files)


def test_only_tier_relevant_config_keys_are_proposals() -> None:
    labels = FileDiff(path=".github/countersign.yml", base=BASE, head=BASE + b"labels: false\n")
    assert edits(labels)[2] == []
    approvers = FileDiff(
        path=".github/countersign.yml", base=BASE, head=b"approvers:\n  pricing: ['@acme/cfo']\n"
    )
    _files, config, edited = edits(approvers)
    assert edited == [".github/countersign.yml: approvers"]
    assert config is not None and config.approvers["pricing"] == ("@acme/cfo",)
    broken = FileDiff(path=".github/countersign.yml", base=BASE, head=b"approvers: [\n")
    assert edits(broken)[2] == []
