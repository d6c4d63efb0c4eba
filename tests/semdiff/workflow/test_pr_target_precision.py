"""`workflow.pull-request-target` on routine edits of jobs that run no pull request code (#24)."""

from __future__ import annotations

from pathlib import Path

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.risk import evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files

PACK = load_rule_pack(Path(__file__).resolve().parents[3] / "risk_rules")

# The shape of a triage workflow as many repositories ship it (labeler on pull_request_target).
LABEL = """name: Pull request labeler
on:
  pull_request_target:
    types: [opened, synchronize]
%s
permissions:
  contents: read
  pull-requests: write
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/labeler@%s
        with:
          sync-labels: true
  preview:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@%s
"""


def rules(base: str, head: str) -> list[tuple[str, str]]:
    path = ".github/workflows/labeler.yml"
    changes = analyze_files(
        [FileDiff(path=path, base=base.encode(), head=head.encode())], RepoConfig()
    )
    findings = evaluate_rules(PACK, changes, is_agent=True, author="renovate[bot]")
    # Workflow files are governance files too (governance.agent-change): only workflow rules here.
    return sorted(
        (f.rule, f.address or "")
        for f in findings
        if f.severity in ("high", "critical") and f.rule.startswith("workflow.")
    )


def test_an_action_bump_in_a_job_that_checks_out_nothing_is_not_high() -> None:
    base = LABEL % ("", "v5", "v4")
    assert rules(base, LABEL % ("", "v6", "v4")) == []


def test_a_bump_in_a_job_that_checks_out_code_still_fires() -> None:
    base = LABEL % ("", "v5", "v4")
    assert ("workflow.pull-request-target", "job.preview") in rules(base, LABEL % ("", "v5", "v5"))


def test_a_new_trigger_still_fires() -> None:
    base = LABEL.replace("  pull_request_target:\n", "  pull_request:\n") % ("", "v5", "v4")
    hits = rules(base, LABEL % ("", "v5", "v4"))
    assert "workflow.pull-request-target" in {r for r, _ in hits}
