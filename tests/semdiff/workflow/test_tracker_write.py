"""Write to the issue tracker only is not the high `workflow.permissions-broadened` (#24).

A re-creation of netbox-community/netbox b55b50b12e (Apache-2.0): a new workflow that closes
issues opened without a template asks `issues: write`, all it needs; it can change no code,
release or review, so it is the medium `workflow.tracker-write`.
"""

from __future__ import annotations

from pathlib import Path

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.risk import evaluate_rules, load_rule_pack
from app.semdiff import analyze_files

PACK = load_rule_pack(Path(__file__).resolve().parents[3] / "risk_rules")
WORKFLOW = """name: Enforce issue templates
on:
  issues:
    types: [opened, reopened]
permissions:
  %s
jobs:
  no-blank-issue:
    runs-on: ubuntu-slim
    steps:
      - uses: ldez/no-blank-issue@800e2d0c81c9e0ca7bdb58f3e7480a74602d91e0  # v1.2.0
        with:
          github-token: ${{ secrets.GITHUB_TOKEN }}
"""


def severities(permissions: str) -> dict[str, set[str]]:
    file = FileDiff(
        path=".github/workflows/no-blank-issue.yml",
        status="added",
        head=(WORKFLOW % permissions).encode(),
    )
    findings = evaluate_rules(PACK, analyze_files([file], RepoConfig()), is_agent=True, author="x")
    out: dict[str, set[str]] = {}
    for finding in findings:
        if finding.rule.startswith("workflow."):
            out.setdefault(finding.rule, set()).add(finding.severity)
    return out


def test_issues_write_alone_is_tracker_write_at_medium() -> None:
    found = severities("issues: write")
    assert "workflow.permissions-broadened" not in found
    assert found["workflow.tracker-write"] == {"medium"}


def test_write_beyond_the_tracker_stays_high() -> None:
    for permissions in ("{issues: write, pull-requests: write}", "{contents: write}", "write-all"):
        found = severities(permissions)
        assert found.get("workflow.permissions-broadened") == {"high"}, permissions
        assert "workflow.tracker-write" not in found, permissions
